import { BaseError, type BaseErrorParameters, type SignedUsageReceipt } from '@rma/core'

/** The stable codes of the {@link ReceiptError} family, one per subclass. */
export type ReceiptErrorCode =
  | 'RECEIPT_MISSING'
  | 'RECEIPT_MALFORMED'
  | 'RECEIPT_SIGNATURE_INVALID'
  | 'UNTRUSTED_METER'
  | 'RECEIPT_BINDING_MISMATCH'
  | 'REQUEST_HASH_MISMATCH'
  | 'ATTESTATION_MISMATCH'
  | 'PRICE_TABLE_MISMATCH'
  | 'PRICE_TABLE_NOT_COMMITTED'
  | 'RESPONSE_HASH_MISMATCH'
  | 'USAGE_MISMATCH'
  | 'PRICE_MISMATCH'
  | 'SPEND_CAP_EXCEEDED'
  | 'CHAIN_MISMATCH'
  | 'RECEIPT_CHECK_FAILED'

/** Where a failed check happened: the ids of the call, for support tickets and disputes. */
export type ReceiptErrorContext = {
  /** The provider's request id (`x-request-id`), when it sent one. */
  requestId?: string | undefined
  /** The meter's call id (`rma-receipt-id`), when it sent one. */
  receiptId?: string | undefined
  /** The compact receipt as received, when there was one. */
  encoded?: string | undefined
  /** The decoded receipt, when it could be decoded. */
  receipt?: SignedUsageReceipt | undefined
}

/**
 * A receipt failed a check in `@rma/client`. Every subclass has a stable `code` and carries the
 * ids of the call (`requestId` from `x-request-id`, `receiptId` from `rma-receipt-id`) and the
 * receipt itself when one arrived, so a mismatch can be reported and disputed.
 *
 * @example
 * client.rma.events.on('mismatch', (error) => report(error.code, error.receiptId, error.encoded))
 */
export abstract class ReceiptError extends BaseError {
  override name = 'ReceiptError'
  declare readonly code: ReceiptErrorCode
  readonly requestId: string | undefined
  readonly receiptId: string | undefined
  readonly encoded: string | undefined
  readonly receipt: SignedUsageReceipt | undefined

  protected constructor(
    code: ReceiptErrorCode,
    {
      shortMessage,
      details,
      cause,
      requestId,
      receiptId,
      encoded,
      receipt,
    }: BaseErrorParameters & ReceiptErrorContext,
  ) {
    super(shortMessage, { code, details, cause })
    this.requestId = requestId
    this.receiptId = receiptId
    this.encoded = encoded
    this.receipt = receipt
  }
}

/** A receipt check threw something that is not a `ReceiptError` (a bug, an I/O failure): kept as `cause`. */
export class ReceiptCheckFailedError extends ReceiptError {
  override name = 'ReceiptCheckFailedError'
  declare readonly code: 'RECEIPT_CHECK_FAILED'
  constructor(context: ReceiptErrorContext & { cause: unknown }) {
    super('RECEIPT_CHECK_FAILED', { ...context, shortMessage: 'The receipt could not be checked.' })
  }
}

/** A metered call succeeded but no receipt arrived (header, inline frame or `/rma/receipts`). */
export class ReceiptMissingError extends ReceiptError {
  override name = 'ReceiptMissingError'
  declare readonly code: 'RECEIPT_MISSING'
  constructor(context: ReceiptErrorContext & { details?: string }) {
    super('RECEIPT_MISSING', {
      ...context,
      shortMessage: 'The meter sent no receipt for a metered call.',
      details: context.details,
    })
  }
}

/** The receipt (header, frame or fetched JSON) could not be decoded. */
export class ReceiptMalformedError extends ReceiptError {
  override name = 'ReceiptMalformedError'
  declare readonly code: 'RECEIPT_MALFORMED'
  constructor(context: ReceiptErrorContext & { cause?: unknown; details?: string }) {
    super('RECEIPT_MALFORMED', {
      ...context,
      shortMessage: 'The receipt could not be decoded.',
      details: context.details,
      cause: context.cause,
    })
  }
}

/** The receipt's signature does not recover to the meter it names. */
export class ReceiptSignatureError extends ReceiptError {
  override name = 'ReceiptSignatureError'
  declare readonly code: 'RECEIPT_SIGNATURE_INVALID'
  constructor(context: ReceiptErrorContext) {
    super('RECEIPT_SIGNATURE_INVALID', {
      ...context,
      shortMessage: 'The receipt is not signed by the meter it names.',
    })
  }
}

/** The receipt is signed by a meter that is not in the trusted set (`meters`). */
export class UntrustedMeterError extends ReceiptError {
  override name = 'UntrustedMeterError'
  declare readonly code: 'UNTRUSTED_METER'
  readonly meter: string
  constructor(context: ReceiptErrorContext & { meter: string }) {
    super('UNTRUSTED_METER', {
      ...context,
      shortMessage: `Meter ${context.meter} is not trusted.`,
      details: 'Add the meter to `meters` if the asset authorises it on chain.',
    })
    this.meter = context.meter
  }
}

/** The receipt is for another asset or user, or was signed outside the call's time window. */
export class ReceiptBindingError extends ReceiptError {
  override name = 'ReceiptBindingError'
  declare readonly code: 'RECEIPT_BINDING_MISMATCH'
  readonly field: 'assetId' | 'user' | 'timestamp'
  constructor(
    context: ReceiptErrorContext & {
      field: 'assetId' | 'user' | 'timestamp'
      expected: string
      actual: string
    },
  ) {
    super('RECEIPT_BINDING_MISMATCH', {
      ...context,
      shortMessage: `The receipt's ${context.field} is ${context.actual}, expected ${context.expected}.`,
    })
    this.field = context.field
  }
}

/** The receipt's `requestHash` is not the hash of the request body this client sent. */
export class RequestHashMismatchError extends ReceiptError {
  override name = 'RequestHashMismatchError'
  declare readonly code: 'REQUEST_HASH_MISMATCH'
  constructor(context: ReceiptErrorContext & { expected: string; actual: string }) {
    super('REQUEST_HASH_MISMATCH', {
      ...context,
      shortMessage: 'The receipt is for another request.',
      details: `Sent body hash ${context.expected}, receipt names ${context.actual}.`,
    })
  }
}

/**
 * The receipt's `attestation` is not the digest of the attestation this client sent for the
 * call: it answers another attestation (whose spend cap an overcharge proof would then be
 * checked against), or none.
 */
export class AttestationMismatchError extends ReceiptError {
  override name = 'AttestationMismatchError'
  declare readonly code: 'ATTESTATION_MISMATCH'
  readonly expected: string
  readonly actual: string
  constructor(context: ReceiptErrorContext & { expected: string; actual: string }) {
    super('ATTESTATION_MISMATCH', {
      ...context,
      shortMessage: 'The receipt answers another attestation.',
      details: `Sent attestation digest ${context.expected}, receipt names ${context.actual}.`,
    })
    this.expected = context.expected
    this.actual = context.actual
  }
}

/**
 * The receipt's `priceTable` is not the root of this client's price table (`prices`) at the
 * receipt's timestamp: it claims pricing by another table than the one the client agreed to.
 */
export class PriceTableMismatchError extends ReceiptError {
  override name = 'PriceTableMismatchError'
  declare readonly code: 'PRICE_TABLE_MISMATCH'
  readonly expected: string
  readonly actual: string
  constructor(context: ReceiptErrorContext & { expected: string; actual: string }) {
    super('PRICE_TABLE_MISMATCH', {
      ...context,
      shortMessage: 'The receipt was priced with another price table.',
      details: `The price table in force at the receipt's timestamp has root ${context.expected}, the receipt names ${context.actual}.`,
    })
    this.expected = context.expected
    this.actual = context.actual
  }
}

/** The receipt's `priceTable` is a root the asset has not committed on chain (`priceTableCommitted`). */
export class PriceTableNotCommittedError extends ReceiptError {
  override name = 'PriceTableNotCommittedError'
  declare readonly code: 'PRICE_TABLE_NOT_COMMITTED'
  readonly root: string
  constructor(context: ReceiptErrorContext & { root: string }) {
    super('PRICE_TABLE_NOT_COMMITTED', {
      ...context,
      shortMessage: `The receipt's price table ${context.root} is not committed for the asset.`,
      details:
        'A receipt priced with an uncommitted table cannot be checked on chain (no mispricing proof): the issuer must commit it first.',
    })
    this.root = context.root
  }
}

/** The receipt's `responseHash` is not the hash of the response bytes this client received. */
export class ResponseHashMismatchError extends ReceiptError {
  override name = 'ResponseHashMismatchError'
  declare readonly code: 'RESPONSE_HASH_MISMATCH'
  constructor(context: ReceiptErrorContext & { expected: string; actual: string }) {
    super('RESPONSE_HASH_MISMATCH', {
      ...context,
      shortMessage: 'The receipt is for another response.',
      details: `Received bytes hash to ${context.expected}, receipt names ${context.actual}.`,
    })
  }
}

/** The receipt's usage or model differs from what the response itself reported. */
export class UsageMismatchError extends ReceiptError {
  override name = 'UsageMismatchError'
  declare readonly code: 'USAGE_MISMATCH'
  readonly field: string
  readonly expected: string | number
  readonly actual: string | number
  constructor(
    context: ReceiptErrorContext & {
      field: string
      expected: string | number
      actual: string | number
    },
  ) {
    super('USAGE_MISMATCH', {
      ...context,
      shortMessage: `The receipt's ${context.field} is ${context.actual}, the response reported ${context.expected}.`,
    })
    this.field = context.field
    this.expected = context.expected
    this.actual = context.actual
  }
}

/** The receipt's amount is not the price table's price of its usage (capped at the spend cap). */
export class PriceMismatchError extends ReceiptError {
  override name = 'PriceMismatchError'
  declare readonly code: 'PRICE_MISMATCH'
  readonly expected: bigint | undefined
  readonly actual: bigint
  constructor(
    context: ReceiptErrorContext & {
      expected: bigint | undefined
      actual: bigint
      details?: string
    },
  ) {
    super('PRICE_MISMATCH', {
      ...context,
      shortMessage:
        context.expected === undefined
          ? `The receipt charges ${context.actual} for a model the price table does not price.`
          : `The receipt charges ${context.actual}, the price table says ${context.expected}.`,
      details: context.details,
    })
    this.expected = context.expected
    this.actual = context.actual
  }
}

/** The receipt charges more than the attestation's spend cap (`maxAmountPerCall`). */
export class SpendCapExceededError extends ReceiptError {
  override name = 'SpendCapExceededError'
  declare readonly code: 'SPEND_CAP_EXCEEDED'
  constructor(context: ReceiptErrorContext & { cap: bigint; actual: bigint }) {
    super('SPEND_CAP_EXCEEDED', {
      ...context,
      shortMessage: `The receipt charges ${context.actual}, above the spend cap ${context.cap}.`,
    })
  }
}

/** How a receipt breaks its (meter, user) chain. */
export type ChainMismatchKind = 'gap' | 'fork' | 'brokenLink' | 'duplicate' | 'cumulativeAmount'

/**
 * The receipt does not continue its (meter, user) chain in the ledger: a `gap` in seq, a
 * `fork` (another receipt with the same seq: with both signatures valid, a fraud proof; the other
 * receipt is in `conflicting`), a `brokenLink` (`prev` is not the previous receipt's hash), a
 * `duplicate` (a receipt already received for another call) or a `cumulativeAmount` that is not
 * the previous receipt's plus this amount (acking it would sign a voucher for money no receipt
 * charged: the chain is disputed and never acked again).
 */
export class ChainMismatchError extends ReceiptError {
  override name = 'ChainMismatchError'
  declare readonly code: 'CHAIN_MISMATCH'
  readonly kind: ChainMismatchKind
  readonly seq: number
  /** For a fork: the other receipt with the same seq, encoded. */
  readonly conflicting: string | undefined
  constructor(
    context: ReceiptErrorContext & {
      kind: ChainMismatchKind
      seq: number
      details: string
      conflicting?: string
    },
  ) {
    super('CHAIN_MISMATCH', {
      ...context,
      shortMessage: `Receipt chain ${context.kind} at seq ${context.seq}.`,
      details: context.details,
    })
    this.kind = context.kind
    this.seq = context.seq
    this.conflicting = context.conflicting
  }
}

/** `getReceipt()` was given something this package did not send (or that had no metered body). */
export class UnknownCallError extends BaseError {
  override name = 'UnknownCallError'
  declare readonly code: 'UNKNOWN_CALL'
  constructor({ cause }: { cause?: unknown } = {}) {
    super('This response was not made through withRMA, createRmaFetch or rmaAxios.', {
      code: 'UNKNOWN_CALL',
      details:
        'Pass the Response from `.withResponse()` / `.asResponse()`, the Stream of a streaming call, or an axios response; only metered calls (POST to chat/completions, completions, responses, embeddings by default) have receipts.',
      cause,
    })
  }
}

/** The options given to `withRMA`, `createRmaFetch` or `rmaAxios` are incomplete or invalid. */
export class InvalidClientOptionsError extends BaseError {
  override name = 'InvalidClientOptionsError'
  declare readonly code: 'INVALID_CLIENT_OPTIONS'
  constructor({ shortMessage, details, cause }: BaseErrorParameters) {
    super(shortMessage, { code: 'INVALID_CLIENT_OPTIONS', details, cause })
  }
}

/** `rma.prove()` found no fraud the settlement contract would accept in what it was given. */
export class NothingToProveError extends BaseError {
  override name = 'NothingToProveError'
  declare readonly code: 'NOTHING_TO_PROVE'
  constructor({ details }: { details: string }) {
    super('There is no provable fraud in this evidence; no transaction was sent.', {
      code: 'NOTHING_TO_PROVE',
      details,
    })
  }
}

/**
 * The settlement contract refuses the fraud proof (already proven, too old, a meter it never
 * authorised, a price table it has no commit of …): found by a dry run, so no transaction was
 * sent (`sent: true` when it passed the dry run but reverted when mined, e.g. another proof of
 * the same fraud got in first). `reason` is the contract's custom error name (`AlreadyProven`, `ReceiptTooOld`, …) when
 * it gave one.
 */
export class FraudProofRejectedError extends BaseError {
  override name = 'FraudProofRejectedError'
  declare readonly code: 'FRAUD_PROOF_REJECTED'
  readonly reason: string | undefined
  /** A transaction was sent and reverted (another proof of the same fraud got in first). */
  readonly sent: boolean
  constructor({
    reason,
    details,
    sent = false,
    cause,
  }: {
    reason?: string | undefined
    details: string
    sent?: boolean
    cause?: unknown
  }) {
    super(
      `The settlement contract refuses this fraud proof${reason ? ` (${reason})` : ''}${sent ? '' : '; no transaction was sent'}.`,
      { code: 'FRAUD_PROOF_REJECTED', details, cause },
    )
    this.reason = reason
    this.sent = sent
  }
}
