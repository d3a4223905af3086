import { BaseError } from '@rma/core'
import { type ExitCode, exitCodes } from './exitCodes.js'

export type CliErrorCode =
  | 'USAGE'
  | 'CONFIG'
  | 'UNREACHABLE'
  | 'TIMEOUT'
  | 'WRONG_CHAIN'
  | 'NO_CONTRACT'
  | 'UNKNOWN_ASSET'
  | 'REFUSED'
  | 'BATCH'
  | 'FAILED'

const exitCodeOf: Record<CliErrorCode, ExitCode> = {
  USAGE: exitCodes.usage,
  CONFIG: exitCodes.usage,
  UNREACHABLE: exitCodes.unreachable,
  TIMEOUT: exitCodes.unreachable,
  WRONG_CHAIN: exitCodes.mismatch,
  NO_CONTRACT: exitCodes.mismatch,
  UNKNOWN_ASSET: exitCodes.mismatch,
  REFUSED: exitCodes.refused,
  BATCH: exitCodes.failed,
  FAILED: exitCodes.failed,
}

/**
 * Every failure `rma` reports: `shortMessage` is one line naming the cause and the fix (what
 * the CLI prints, never a stack trace), `code` is stable, `exitCode` follows from it.
 *
 * @example
 * throw new CliError('CONFIG', 'RMA_RPC_URL is not set: pass --rpc <url> or set RMA_RPC_URL.')
 */
export class CliError extends BaseError {
  override name = 'CliError'
  declare readonly code: CliErrorCode

  constructor(code: CliErrorCode, shortMessage: string, options: { cause?: unknown } = {}) {
    super(shortMessage.replace(/\s*\n\s*/g, ' '), { code, cause: options.cause })
  }

  get exitCode(): ExitCode {
    return exitCodeOf[this.code]
  }
}
