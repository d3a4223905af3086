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
export { StoreError, type StoreErrorCode } from './errors.js'
