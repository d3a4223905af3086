import type {
  AckUnknownReceiptError,
  ChainResetError,
  DuplicateReceiptIdError,
  InvalidReceiptError,
  InvalidStoreOptionsError,
  ReceiptConflictError,
  SchemaTooNewError,
  StoreClosedError,
  StoreUnavailableError,
  UnknownReceiptError,
  WriterFailedError,
} from './errors.js'

/**
 * Every error `@rma/store` throws on its own account, to narrow on `code` (or `name`).
 *
 * @example
 * function retryable(error: StoreErrorType): boolean {
 *   return error.code === 'DUPLICATE_RECEIPT_ID'
 * }
 */
export type StoreErrorType =
  | AckUnknownReceiptError
  | ChainResetError
  | DuplicateReceiptIdError
  | InvalidReceiptError
  | InvalidStoreOptionsError
  | ReceiptConflictError
  | SchemaTooNewError
  | StoreClosedError
  | StoreUnavailableError
  | UnknownReceiptError
  | WriterFailedError
