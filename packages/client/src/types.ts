import type { Address, Hex, SignedUsageReceipt, Usage } from '@rma/core'
import type { ReceiptError } from './errors.js'

/**
 * How a receipt's usage was checked:
 * - `matched`: equal to the usage the response reported (and the model too);
 * - `unreported`: the response the client saw reported none (for example a chat stream without
 *   `stream_options.include_usage`, whose usage the meter read before stripping it);
 * - `estimated`: the meter estimated it and the response reported none either;
 * - `partial`: the stream was aborted; usage up to that point, estimated by the meter.
 */
export type UsageCheck = 'matched' | 'unreported' | 'estimated' | 'partial'

/** What each check of an accepted receipt concluded. */
export type ReceiptChecks = {
  usage: UsageCheck
  /**
   * `matched`: the receipt's `responseHash` is the hash of the bytes received. `unprovable`: the
   * stream was aborted, so the bytes the meter forwarded and the bytes that arrived may differ.
   */
  response: 'matched' | 'unprovable'
  /** `matched` the price table, `capped` at the spend cap, or `unchecked` (no `prices`). */
  price: 'matched' | 'capped' | 'unchecked'
}

/** An accepted receipt in the ledger. */
export type ReceiptRecord = {
  /** The meter's call id (`rma-receipt-id`). */
  id: string
  /** The provider's request id (`x-request-id`), if any. */
  requestId: string | undefined
  /** The receipt hash (EIP-712), the `prev` of the next receipt of its chain. */
  hash: Hex
  receipt: SignedUsageReceipt
  /** The compact encoding, as the meter sent it. */
  encoded: string
  checks: ReceiptChecks
  /** Unix milliseconds when this client accepted it. */
  receivedAt: number
}

/** A receipt (or its absence) that failed a check; kept in the ledger as evidence. */
export type RejectedRecord = {
  id: string | undefined
  requestId: string | undefined
  /** The receipt as received; `undefined` when none arrived. */
  encoded: string | undefined
  code: string
  message: string
  /** Unix milliseconds. */
  at: number
}

/** Token and money totals of accepted receipts. Amounts in payment-token base units. */
export type Totals = Usage & { calls: number; amount: bigint }

/** The ledger's totals, overall and per asset and per model. */
export type LedgerTotals = {
  all: Totals
  byAsset: Record<Hex, Totals>
  byModel: Record<string, Totals>
}

/** What the client saw of a response, to compare with its receipt. */
export type Observation = {
  /** keccak256 of the response bytes received, the inline receipt frame excluded. */
  responseHash: Hex
  usage: Usage | undefined
  model: string | undefined
  /** The response reported an error (no receipt is expected then). */
  failed: boolean
}

/** The user's prepaid account as read from chain (`client.rma.balance()`); base units of `token`. */
export type PrepaidBalance = {
  token: Address
  /** On the settlement contract, usable at every asset paid in `token`. */
  balance: bigint
  /** Requested for withdrawal (still in `balance` until withdrawn; no longer covers calls). */
  withdrawalRequested: bigint
  /** Unix seconds from which the request can be withdrawn (0: none). */
  withdrawableAt: number
  /** What this client's receipts of the asset charged beyond the chains' settled vouchers. */
  pending: bigint
  /** The cumulative amounts this client acked (its vouchers), summed over its chains. */
  acked: bigint
  /** What this asset's prepaid settlements debited from the balance. */
  debited: bigint
  /** The users' share of those debits credited back to the balance. */
  rebatesCredited: bigint
  /** The block all of the above was read at. */
  blockNumber: number
}

/** A metered call the meter refused (402) because the prepaid balance does not cover it. */
export type InsufficientBalanceEvent = {
  url: string
  token: Address | undefined
  balance: bigint | undefined
  pending: bigint | undefined
  reserved: bigint | undefined
  needed: bigint | undefined
  /** The meter's message, saying what to deposit. */
  message: string
}

export type RmaClientEvents = {
  /** A receipt passed every check and is in the ledger. */
  receipt: (record: ReceiptRecord) => void
  /** A receipt failed a check (in both `onMismatch` modes), or was missing. */
  mismatch: (error: ReceiptError) => void
  /** The client countersigned a receipt (`via`: sent as `rma-ack` header, or POSTed). */
  ack: (event: { meter: Address; seq: number; receiptHash: Hex; via: 'header' | 'post' }) => void
  /** Something failed outside the checks: an ack POST, the ledger store. */
  error: (error: Error) => void
  /** The meter refused a call (402 `rma_insufficient_balance`): deposit more. */
  insufficientBalance: (event: InsufficientBalanceEvent) => void
}
