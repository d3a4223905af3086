import { BaseError } from '@rma/core'

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

/**
 * Every failure of the settlement client: a stable `code`, the decoded revert when the chain
 * refused (`revert`), and the cause (an ethers error, an I/O error) kept.
 *
 * @example
 * settler.events.on('error', (e) => {
 *   if (e instanceof SettlementError && e.code === 'SETTLE_REFUSED') alert(e.revert?.reason)
 * })
 */
export class SettlementError extends BaseError {
  override name = 'SettlementError'
  declare readonly code: SettlementErrorCode
  readonly revert: DecodedRevert | undefined

  constructor(
    code: SettlementErrorCode,
    shortMessage: string,
    options: { details?: string; cause?: unknown; revert?: DecodedRevert } = {},
  ) {
    super(shortMessage, { code, details: options.details, cause: options.cause })
    this.revert = options.revert
  }
}
