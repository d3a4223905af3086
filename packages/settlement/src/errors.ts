import { BaseError, type BaseErrorParameters } from '@rma/core'

export type SettlementErrorCode =
  | 'RPC_UNAVAILABLE'
  | 'TX_REVERTED'
  | 'TX_DROPPED'
  | 'SETTLE_REFUSED'
  | 'CHAIN_MISMATCH'
  | 'INVALID_RECEIPTS'
  | 'INVALID_OPTIONS'
  | 'BATCH_FILE'
  | 'PROOF_INDEX'
  | 'NOTHING_TO_CLAIM'
  | 'EPOCH_PENDING'
  | 'UNKNOWN_ASSET'

/** A revert decoded from its data: the custom error's name and a sentence a newcomer can act on. */
export type DecodedRevert = { name: string; reason: string }

/** What every settlement error takes: its message, the decoded revert when the chain refused. */
export type SettlementErrorParameters = BaseErrorParameters & {
  revert?: DecodedRevert | undefined
}

/**
 * The family of every failure of the settlement client: one subclass per `code`, each taking
 * one object; the decoded revert when the chain refused (`revert`), and the cause (an ethers
 * error, an I/O error) kept.
 *
 * @example
 * settler.events.on('error', (e) => {
 *   if (e instanceof SettlementError && e.code === 'SETTLE_REFUSED') alert(e.revert?.reason)
 * })
 */
export abstract class SettlementError extends BaseError {
  override name = 'SettlementError'
  declare readonly code: SettlementErrorCode
  readonly revert: DecodedRevert | undefined

  protected constructor(
    code: SettlementErrorCode,
    { shortMessage, details, cause, revert }: SettlementErrorParameters,
  ) {
    super(shortMessage, { code, details, cause })
    this.revert = revert
  }
}

/** The RPC did not answer (after the retries of `withRetry`); the cause is kept. */
export class RpcUnavailableError extends SettlementError {
  override name = 'RpcUnavailableError'
  declare readonly code: 'RPC_UNAVAILABLE'
  constructor(parameters: SettlementErrorParameters) {
    super('RPC_UNAVAILABLE', parameters)
  }
}

/** The chain refused a transaction (`revert` holds the decoded reason when there is one). */
export class TransactionRevertedError extends SettlementError {
  override name = 'TransactionRevertedError'
  declare readonly code: 'TX_REVERTED'
  constructor(parameters: SettlementErrorParameters) {
    super('TX_REVERTED', parameters)
  }
}

/** A sent transaction was neither mined nor refused (dropped or replaced). */
export class TransactionDroppedError extends SettlementError {
  override name = 'TransactionDroppedError'
  declare readonly code: 'TX_DROPPED'
  constructor(parameters: SettlementErrorParameters) {
    super('TX_DROPPED', parameters)
  }
}

/** The chain refused a batch (`revert` holds the decoded reason): the settler waits before trying it again. */
export class SettleRefusedError extends SettlementError {
  override name = 'SettleRefusedError'
  declare readonly code: 'SETTLE_REFUSED'
  constructor(parameters: SettlementErrorParameters) {
    super('SETTLE_REFUSED', parameters)
  }
}

/** The store's batches and the contract's epochs disagree (a batch missing, vanished or different on chain). */
export class BatchChainMismatchError extends SettlementError {
  override name = 'BatchChainMismatchError'
  declare readonly code: 'CHAIN_MISMATCH'
  constructor(parameters: SettlementErrorParameters) {
    super('CHAIN_MISMATCH', parameters)
  }
}

/**
 * Receipts are left out of a batch or cannot be used: no chain verified, chains with issues,
 * receipts of meters the contract does not trust, voucher receipts no epoch can take.
 */
export class InvalidBatchReceiptsError extends SettlementError {
  override name = 'InvalidBatchReceiptsError'
  declare readonly code: 'INVALID_RECEIPTS'
  constructor(parameters: SettlementErrorParameters) {
    super('INVALID_RECEIPTS', parameters)
  }
}

/** An option or argument of the settlement client is invalid. */
export class InvalidSettlementOptionsError extends SettlementError {
  override name = 'InvalidSettlementOptionsError'
  declare readonly code: 'INVALID_OPTIONS'
  constructor(parameters: SettlementErrorParameters) {
    super('INVALID_OPTIONS', parameters)
  }
}

/** A batch file is missing, unreadable or not the batch recorded on chain. */
export class BatchFileError extends SettlementError {
  override name = 'BatchFileError'
  declare readonly code: 'BATCH_FILE'
  constructor(parameters: SettlementErrorParameters) {
    super('BATCH_FILE', parameters)
  }
}

/** A proof index is missing, unreadable or not for the epoch asked. */
export class ProofIndexError extends SettlementError {
  override name = 'ProofIndexError'
  declare readonly code: 'PROOF_INDEX'
  constructor(parameters: SettlementErrorParameters) {
    super('PROOF_INDEX', parameters)
  }
}

/** There is nothing to claim for the account (no rebate, no payout). */
export class NothingToClaimError extends SettlementError {
  override name = 'NothingToClaimError'
  declare readonly code: 'NOTHING_TO_CLAIM'
  constructor(parameters: SettlementErrorParameters) {
    super('NOTHING_TO_CLAIM', parameters)
  }
}

/** The epoch is still in its challenge window: its rebates cannot be claimed yet. */
export class EpochPendingError extends SettlementError {
  override name = 'EpochPendingError'
  declare readonly code: 'EPOCH_PENDING'
  constructor(parameters: SettlementErrorParameters) {
    super('EPOCH_PENDING', parameters)
  }
}

/** The asset is not registered on the settlement contract. */
export class UnknownAssetError extends SettlementError {
  override name = 'UnknownAssetError'
  declare readonly code: 'UNKNOWN_ASSET'
  constructor(parameters: SettlementErrorParameters) {
    super('UNKNOWN_ASSET', parameters)
  }
}
