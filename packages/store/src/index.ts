export type {
  AppendReceiptParameters,
  BatchRecord,
  BatchStatus,
  ChainHead,
  ChainRef,
  ClaimNonceParameters,
  ListReceiptsParameters,
  ReceiptStore,
  StoredReceipt,
} from '@rma/core'
export { type CreateMemoryStoreOptions, createMemoryStore } from './createMemoryStore.js'
export { type CreatePostgresStoreOptions, createPostgresStore } from './createPostgresStore.js'
export {
  type CreateSqliteStoreOptions,
  createSqliteStore,
  type GroupCommitInfo,
} from './createSqliteStore.js'
export {
  AckUnknownReceiptError,
  ChainResetError,
  DuplicateReceiptIdError,
  InvalidReceiptError,
  InvalidStoreOptionsError,
  ReceiptConflictError,
  SchemaTooNewError,
  StoreClosedError,
  StoreError,
  type StoreErrorCode,
  StoreUnavailableError,
  UnknownReceiptError,
  WriterFailedError,
} from './errors.js'
export type { StoreErrorType } from './StoreErrorType.js'
