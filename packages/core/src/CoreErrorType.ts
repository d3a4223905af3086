import type {
  CumulativeAmountMismatchError,
  DuplicateLeafError,
  EmptyTreeError,
  InvalidAllocationError,
  InvalidEncodingError,
  InvalidFieldError,
  InvalidPriceTableError,
  InvalidSharesError,
  InvalidUsageError,
  LeafNotFoundError,
  SignerMismatchError,
  UnknownModelError,
} from './errors.js'

/**
 * Every error `@rma/core` throws, to narrow on `code` (or `name`) with exhaustiveness checks.
 *
 * @example
 * function status(error: CoreErrorType): number {
 *   switch (error.code) {
 *     case 'INVALID_ENCODING': return 400
 *     default: return 500
 *   }
 * }
 */
export type CoreErrorType =
  | CumulativeAmountMismatchError
  | DuplicateLeafError
  | EmptyTreeError
  | InvalidAllocationError
  | InvalidEncodingError
  | InvalidFieldError
  | InvalidPriceTableError
  | InvalidSharesError
  | InvalidUsageError
  | LeafNotFoundError
  | SignerMismatchError
  | UnknownModelError
