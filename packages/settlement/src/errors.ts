import { BaseError } from '@rma/core'

export type SettlementErrorCode =
  | 'RPC_UNAVAILABLE'
  | 'TX_REVERTED'
  | 'TX_DROPPED'
  | 'CHAIN_MISMATCH'
  | 'INVALID_RECEIPTS'
  | 'BATCH_FILE'
  | 'NOTHING_TO_CLAIM'
  | 'UNKNOWN_ASSET'

/**
 * Every failure of the settlement client: a stable `code`, and the cause (an ethers error, an
 * I/O error) kept.
 *
 * @example
 * client.events.on('error', (e) => { if (e.code === 'RPC_UNAVAILABLE') alert() })
 */
export class SettlementError extends BaseError {
  override name = 'SettlementError'
  declare readonly code: SettlementErrorCode

  constructor(
    code: SettlementErrorCode,
    shortMessage: string,
    options: { details?: string; cause?: unknown } = {},
  ) {
    super(shortMessage, { code, details: options.details, cause: options.cause })
  }
}
