import { BaseError, type BaseErrorParameters } from '@rma/core'

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
 * The family of every error a store throws on its own account (database driver errors that are
 * not mapped keep their own class and reach the caller unchanged): one subclass per `code`, each
 * constructed from one object. Branch on `instanceof StoreError` and `code`, or on a subclass.
 *
 * @example
 * try { await store.markSettled({ assetId, epoch, hashes }) } catch (e) {
 *   if (e instanceof StoreError && e.code === 'RECEIPT_CONFLICT') rebuildBatch()
 *   else throw e
 * }
 */
export abstract class StoreError extends BaseError {
  override name = 'StoreError'
  declare readonly code: StoreErrorCode

  protected constructor(
    code: StoreErrorCode,
    { shortMessage, details, cause }: BaseErrorParameters,
  ) {
    super(shortMessage, { code, details, cause })
  }
}

/** `append` was given an id that another receipt already has. */
export class DuplicateReceiptIdError extends StoreError {
  override name = 'DuplicateReceiptIdError'
  declare readonly code: 'DUPLICATE_RECEIPT_ID'
  constructor(parameters: BaseErrorParameters) {
    super('DUPLICATE_RECEIPT_ID', parameters)
  }
}

/** A seq or hash is already taken, or a receipt is settled in another epoch. */
export class ReceiptConflictError extends StoreError {
  override name = 'ReceiptConflictError'
  declare readonly code: 'RECEIPT_CONFLICT'
  constructor(parameters: BaseErrorParameters) {
    super('RECEIPT_CONFLICT', parameters)
  }
}

/** `markSettled` named a hash that is not a receipt of the asset. */
export class UnknownReceiptError extends StoreError {
  override name = 'UnknownReceiptError'
  declare readonly code: 'UNKNOWN_RECEIPT'
  constructor(parameters: BaseErrorParameters) {
    super('UNKNOWN_RECEIPT', parameters)
  }
}

/** The `sign` callback returned a receipt that does not extend the chain head it was given. */
export class InvalidReceiptError extends StoreError {
  override name = 'InvalidReceiptError'
  declare readonly code: 'INVALID_RECEIPT'
  constructor(parameters: BaseErrorParameters) {
    super('INVALID_RECEIPT', parameters)
  }
}

/** A retried append whose chain failed again under it (appends signed on top of a receipt that failed are otherwise signed again, not dropped). */
export class ChainResetError extends StoreError {
  override name = 'ChainResetError'
  declare readonly code: 'CHAIN_RESET'
  constructor(parameters: BaseErrorParameters) {
    super('CHAIN_RESET', parameters)
  }
}

/** The store was closed. */
export class StoreClosedError extends StoreError {
  override name = 'StoreClosedError'
  declare readonly code: 'STORE_CLOSED'
  constructor(parameters: BaseErrorParameters) {
    super('STORE_CLOSED', parameters)
  }
}

/** The SQLite store's writer thread stopped: waiting appends may or may not be stored, and the store accepts no more writes. */
export class WriterFailedError extends StoreError {
  override name = 'WriterFailedError'
  declare readonly code: 'WRITER_FAILED'
  constructor(parameters: BaseErrorParameters) {
    super('WRITER_FAILED', parameters)
  }
}

/** The database was migrated by a newer `@rma/store` than this one. */
export class SchemaTooNewError extends StoreError {
  override name = 'SchemaTooNewError'
  declare readonly code: 'SCHEMA_TOO_NEW'
  constructor(parameters: BaseErrorParameters) {
    super('SCHEMA_TOO_NEW', parameters)
  }
}

/** An option of a store factory is invalid. */
export class InvalidStoreOptionsError extends StoreError {
  override name = 'InvalidStoreOptionsError'
  declare readonly code: 'INVALID_OPTIONS'
  constructor(parameters: BaseErrorParameters) {
    super('INVALID_OPTIONS', parameters)
  }
}

/** `addAck` was given an ack that names no stored receipt; nothing was stored. */
export class AckUnknownReceiptError extends StoreError {
  override name = 'AckUnknownReceiptError'
  declare readonly code: 'ACK_UNKNOWN_RECEIPT'
  constructor(parameters: BaseErrorParameters) {
    super('ACK_UNKNOWN_RECEIPT', parameters)
  }
}

/** The store cannot durably write right now: refuse paid calls. */
export class StoreUnavailableError extends StoreError {
  override name = 'StoreUnavailableError'
  declare readonly code: 'STORE_UNAVAILABLE'
  constructor(parameters: BaseErrorParameters) {
    super('STORE_UNAVAILABLE', parameters)
  }
}
