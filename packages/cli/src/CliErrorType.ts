import type { CliError } from './CliError.js'

/**
 * Every error `@rma/cli` throws on its own account (one class, its `code` the exit category),
 * to narrow on `code`.
 *
 * @example
 * function retryLater(error: CliErrorType): boolean {
 *   return error.code === 'UNREACHABLE' || error.code === 'TIMEOUT'
 * }
 */
export type CliErrorType = CliError
