import { BaseError } from '@rma/core'

/**
 * Stable codes of {@link StoreError}, to branch on.
 *
 * @example
 * const retryable: StoreErrorCode[] = ['CHAIN_RESET']
 */
export type StoreErrorCode =
  /** `append` was given an id that another receipt already has. */
  | 'DUPLICATE_RECEIPT_ID'
  /** A seq or hash is already taken, or a receipt is settled in another epoch. */
  | 'RECEIPT_CONFLICT'
  /** `markSettled` named a hash that is not a receipt of the asset. */
  | 'UNKNOWN_RECEIPT'
  /** The `sign` callback returned a receipt that does not extend the chain head it was given. */
  | 'INVALID_RECEIPT'
  /**
   * A retried append (signed again after its group failed) whose chain failed again under it.
   * Appends signed on top of a receipt that failed are otherwise signed again, not dropped.
   */
  | 'CHAIN_RESET'
  /** The store was closed. */
  | 'STORE_CLOSED'
  /**
   * The SQLite store's writer thread stopped: appends that were waiting for their commit may or
   * may not have been stored, and the store accepts no more writes (open a new one).
   */
  | 'WRITER_FAILED'
  /** The database was migrated by a newer `@rma/store` than this one. */
  | 'SCHEMA_TOO_NEW'
  /** An option of a store factory is invalid. */
  | 'INVALID_OPTIONS'
  /** `addAck` was given an ack that names no stored receipt; nothing was stored. */
  | 'ACK_UNKNOWN_RECEIPT'
  /**
   * The store cannot durably write right now (read-only or removed file, dead writer thread,
   * write lock held past the busy timeout, database unreachable): refuse paid calls.
   */
  | 'STORE_UNAVAILABLE'

/**
 * Every error a store throws on its own account (database driver errors that are not mapped
 * keep their own class and reach the caller unchanged).
 *
 * @example
 * try { await store.markSettled({ assetId, epoch, hashes }) } catch (e) {
 *   if (e instanceof StoreError && e.code === 'RECEIPT_CONFLICT') rebuildBatch()
 *   else throw e
 * }
 */
export class StoreError extends BaseError {
  override name = 'StoreError'
  declare readonly code: StoreErrorCode

  constructor(
    code: StoreErrorCode,
    shortMessage: string,
    options: { details?: string | undefined; cause?: unknown } = {},
  ) {
    super(shortMessage, { code, details: options.details, cause: options.cause })
  }
}
