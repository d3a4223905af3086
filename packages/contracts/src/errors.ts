import { BaseError } from '@rma/core'

/**
 * A transaction sent by a helper of this package (a deployment, `registerAsset`) has no receipt:
 * the provider dropped it or answered without one.
 */
export class TransactionNotMinedError extends BaseError {
  override name = 'TransactionNotMinedError'
  declare readonly code: 'TX_NOT_MINED'
  /** What was sent, as the message names it (`settlement contract deployment`). */
  readonly transaction: string
  constructor({ transaction }: { transaction: string }) {
    super(`The ${transaction} was not mined.`, { code: 'TX_NOT_MINED' })
    this.transaction = transaction
  }
}

/** `linkBytecode` was given no address for a library the bytecode links. */
export class MissingLibraryAddressError extends BaseError {
  override name = 'MissingLibraryAddressError'
  declare readonly code: 'MISSING_LIBRARY_ADDRESS'
  readonly library: string
  constructor({ library }: { library: string }) {
    super(`No address given for the linked library ${library}.`, {
      code: 'MISSING_LIBRARY_ADDRESS',
    })
    this.library = library
  }
}

/** A receipt names a usage source the EIP-712 struct has no code for. */
export class UnknownUsageSourceError extends BaseError {
  override name = 'UnknownUsageSourceError'
  declare readonly code: 'UNKNOWN_USAGE_SOURCE'
  constructor({ source }: { source: unknown }) {
    super(`Unknown usage source: ${String(source)}`, { code: 'UNKNOWN_USAGE_SOURCE' })
  }
}
