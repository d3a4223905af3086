import type {
  MissingLibraryAddressError,
  TransactionNotMinedError,
  UnknownUsageSourceError,
} from './errors.js'

/**
 * Every error `@rma/contracts` throws on its own account (reverts of the contracts are ethers
 * errors, decoded by `parseSettlementError`), to narrow on `code`.
 *
 * @example
 * function retryable(error: ContractsErrorType): boolean {
 *   return error.code === 'TX_NOT_MINED'
 * }
 */
export type ContractsErrorType =
  | MissingLibraryAddressError
  | TransactionNotMinedError
  | UnknownUsageSourceError
