import type {
  AuditAbortedError,
  BatchHashMismatchError,
  BatchMissingError,
  BatchTimeoutError,
  BatchTooLargeError,
  BatchTruncatedError,
  BatchUnavailableError,
  InvalidAuditOptionsError,
  InvalidBatchError,
  InvalidLedgerError,
  NoContractError,
  NotSettlementContractError,
  RpcFailedError,
  RpcTimeoutError,
  RpcUnreachableError,
  UnregisteredAssetError,
  UnsupportedUriError,
  WrongChainError,
} from './errors.js'

/**
 * Every error `@rma/audit` throws on its own account, to narrow on `code` (or `name`).
 *
 * @example
 * function retryable(error: AuditErrorType): boolean {
 *   return error.code === 'INVALID_OPTIONS'
 * }
 */
export type AuditErrorType =
  | AuditAbortedError
  | BatchHashMismatchError
  | BatchMissingError
  | BatchTimeoutError
  | BatchTooLargeError
  | BatchTruncatedError
  | BatchUnavailableError
  | InvalidAuditOptionsError
  | InvalidBatchError
  | InvalidLedgerError
  | NoContractError
  | NotSettlementContractError
  | RpcFailedError
  | RpcTimeoutError
  | RpcUnreachableError
  | UnregisteredAssetError
  | UnsupportedUriError
  | WrongChainError
