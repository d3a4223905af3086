import { BaseError } from '@rma/core'

export type AuditErrorCode =
  | 'INVALID_OPTIONS'
  | 'RPC_UNREACHABLE'
  | 'RPC_TIMEOUT'
  | 'RPC_ERROR'
  | 'WRONG_CHAIN'
  | 'NO_CONTRACT'
  | 'NOT_SETTLEMENT'
  | 'UNKNOWN_ASSET'
  | 'BATCH_MISSING'
  | 'BATCH_UNAVAILABLE'
  | 'BATCH_TIMEOUT'
  | 'BATCH_TOO_LARGE'
  | 'BATCH_TRUNCATED'
  | 'BATCH_HASH_MISMATCH'
  | 'BATCH_INVALID'
  | 'UNSUPPORTED_URI'
  | 'INVALID_LEDGER'
  | 'ABORTED'

/**
 * Every failure of `@rma/audit`: a stable `code` and a `shortMessage` of one sentence that
 * names the cause and what to change (the CLI prints it as is), the original `cause` kept.
 *
 * @example
 * try { await auditAsset({ rpcUrl, contract, assetId }) } catch (e) {
 *   if (e instanceof AuditError) { console.error(e.shortMessage); process.exitCode = 2 }
 * }
 */
export class AuditError extends BaseError {
  override name = 'AuditError'
  declare readonly code: AuditErrorCode

  constructor(
    code: AuditErrorCode,
    shortMessage: string,
    options: { details?: string; cause?: unknown } = {},
  ) {
    super(shortMessage, { code, details: options.details, cause: options.cause })
  }
}
