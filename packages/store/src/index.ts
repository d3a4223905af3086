export type {
  AppendReceiptParameters,
  BatchRecord,
  BatchStatus,
  ChainHead,
  ListReceiptsParameters,
  ReceiptStore,
  StoredReceipt,
} from '@rma/core'
export { createMemoryStore } from './createMemoryStore.js'
export { type CreatePostgresStoreOptions, createPostgresStore } from './createPostgresStore.js'
export {
  type CreateSqliteStoreOptions,
  createSqliteStore,
  type GroupCommitInfo,
} from './createSqliteStore.js'
export { StoreError, type StoreErrorCode } from './errors.js'
