import type {
  BatchChainMismatchError,
  BatchFileError,
  EpochPendingError,
  InvalidBatchReceiptsError,
  InvalidSettlementOptionsError,
  NothingToClaimError,
  ProofIndexError,
  RpcUnavailableError,
  SettleRefusedError,
  TransactionDroppedError,
  TransactionRevertedError,
  UnknownAssetError,
} from './errors.js'

/**
 * Every error `@rma/settlement` throws on its own account, to narrow on `code` (or `name`).
 *
 * @example
 * function retryable(error: SettlementErrorType): boolean {
 *   return error.code === 'RPC_UNAVAILABLE'
 * }
 */
export type SettlementErrorType =
  | BatchChainMismatchError
  | BatchFileError
  | EpochPendingError
  | InvalidBatchReceiptsError
  | InvalidSettlementOptionsError
  | NothingToClaimError
  | ProofIndexError
  | RpcUnavailableError
  | SettleRefusedError
  | TransactionDroppedError
  | TransactionRevertedError
  | UnknownAssetError
