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

/** What a {@link CliError} takes: its exit category and the one line `rma` prints. */
export type CliErrorParameters = {
  /** The category of the failure, which fixes the exit code. */
  code: CliErrorCode
  /** One line naming the cause and the fix (line breaks are folded into spaces). */
  shortMessage: string
  cause?: unknown
}

/**
 * Every failure `rma` reports: `shortMessage` is one line naming the cause and the fix (what
 * the CLI prints, never a stack trace), `code` is stable, `exitCode` follows from it.
 *
 * One class, not one per code: a `CliError` is one concept (a line printed and an exit code),
 * and its `code` is an exit category that `toCliError` picks at run time from the code of the
 * audit's or the settlement client's error it reports, so the code is a member of the typed
 * `CliErrorCode` union given in the one object the constructor takes.
 *
 * @example
 * throw new CliError({
 *   code: 'CONFIG',
 *   shortMessage: 'RMA_RPC_URL is not set: pass --rpc <url> or set RMA_RPC_URL.',
 * })
 */
export class CliError extends BaseError {
  override name = 'CliError'
  declare readonly code: CliErrorCode

  constructor({ code, shortMessage, cause }: CliErrorParameters) {
    super(shortMessage.replace(/\s*\n\s*/g, ' '), { code, cause })
  }

  get exitCode(): ExitCode {
    return exitCodeOf[this.code]
  }
}
