import { BaseError, type SignedUsageReceipt } from '@rma/core'

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
export class ReceiptError extends BaseError {
  override name = 'ReceiptError'
  readonly requestId: string | undefined
  readonly receiptId: string | undefined
  readonly encoded: string | undefined
  readonly receipt: SignedUsageReceipt | undefined

  constructor(
    shortMessage: string,
    options: { code: string; details?: string | undefined; cause?: unknown },
    context: ReceiptErrorContext = {},
  ) {
    super(shortMessage, options)
    this.requestId = context.requestId
    this.receiptId = context.receiptId
    this.encoded = context.encoded
    this.receipt = context.receipt
  }
}

/** A metered call succeeded but no receipt arrived (header, inline frame or `/rma/receipts`). */
export class ReceiptMissingError extends ReceiptError {
  override name = 'ReceiptMissingError'
  constructor(context: ReceiptErrorContext & { details?: string }) {
    super(
      'The meter sent no receipt for a metered call.',
      { code: 'RECEIPT_MISSING', details: context.details },
      context,
    )
  }
}

/** The receipt (header, frame or fetched JSON) could not be decoded. */
export class ReceiptMalformedError extends ReceiptError {
  override name = 'ReceiptMalformedError'
  constructor(context: ReceiptErrorContext & { cause?: unknown; details?: string }) {
    super(
      'The receipt could not be decoded.',
      { code: 'RECEIPT_MALFORMED', details: context.details, cause: context.cause },
      context,
    )
  }
}

/** The receipt's signature does not recover to the meter it names. */
export class ReceiptSignatureError extends ReceiptError {
  override name = 'ReceiptSignatureError'
  constructor(context: ReceiptErrorContext) {
    super(
      'The receipt is not signed by the meter it names.',
      { code: 'RECEIPT_SIGNATURE_INVALID' },
      context,
    )
  }
}

/** The receipt is signed by a meter that is not in the trusted set (`meters`). */
export class UntrustedMeterError extends ReceiptError {
  override name = 'UntrustedMeterError'
  readonly meter: string
  constructor(context: ReceiptErrorContext & { meter: string }) {
    super(
      `Meter ${context.meter} is not trusted.`,
      {
        code: 'UNTRUSTED_METER',
        details: 'Add the meter to `meters` if the asset authorises it on chain.',
      },
      context,
    )
    this.meter = context.meter
  }
}

/** The receipt is for another asset or user, or was signed outside the call's time window. */
export class ReceiptBindingError extends ReceiptError {
  override name = 'ReceiptBindingError'
  readonly field: 'assetId' | 'user' | 'timestamp'
  constructor(
    context: ReceiptErrorContext & {
      field: 'assetId' | 'user' | 'timestamp'
      expected: string
      actual: string
    },
  ) {
    super(
      `The receipt's ${context.field} is ${context.actual}, expected ${context.expected}.`,
      { code: 'RECEIPT_BINDING_MISMATCH' },
      context,
    )
    this.field = context.field
  }
}

/** The receipt's `requestHash` is not the hash of the request body this client sent. */
export class RequestHashMismatchError extends ReceiptError {
  override name = 'RequestHashMismatchError'
  constructor(context: ReceiptErrorContext & { expected: string; actual: string }) {
    super(
      'The receipt is for another request.',
      {
        code: 'REQUEST_HASH_MISMATCH',
        details: `Sent body hash ${context.expected}, receipt names ${context.actual}.`,
      },
      context,
    )
  }
}

/**
 * The receipt's `attestation` is not the digest of the attestation this client sent for the
 * call: it answers another attestation (whose spend cap an overcharge proof would then be
 * checked against), or none.
 */
export class AttestationMismatchError extends ReceiptError {
  override name = 'AttestationMismatchError'
  readonly expected: string
  readonly actual: string
  constructor(context: ReceiptErrorContext & { expected: string; actual: string }) {
    super(
      'The receipt answers another attestation.',
      {
        code: 'ATTESTATION_MISMATCH',
        details: `Sent attestation digest ${context.expected}, receipt names ${context.actual}.`,
      },
      context,
    )
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
  readonly expected: string
  readonly actual: string
  constructor(context: ReceiptErrorContext & { expected: string; actual: string }) {
    super(
      'The receipt was priced with another price table.',
      {
        code: 'PRICE_TABLE_MISMATCH',
        details: `The price table in force at the receipt's timestamp has root ${context.expected}, the receipt names ${context.actual}.`,
      },
      context,
    )
    this.expected = context.expected
    this.actual = context.actual
  }
}

/** The receipt's `priceTable` is a root the asset has not committed on chain (`priceTableCommitted`). */
export class PriceTableNotCommittedError extends ReceiptError {
  override name = 'PriceTableNotCommittedError'
  readonly root: string
  constructor(context: ReceiptErrorContext & { root: string }) {
    super(
      `The receipt's price table ${context.root} is not committed for the asset.`,
      {
        code: 'PRICE_TABLE_NOT_COMMITTED',
        details:
          'A receipt priced with an uncommitted table cannot be checked on chain (no mispricing proof): the issuer must commit it first.',
      },
      context,
    )
    this.root = context.root
  }
}

/** The receipt's `responseHash` is not the hash of the response bytes this client received. */
export class ResponseHashMismatchError extends ReceiptError {
  override name = 'ResponseHashMismatchError'
  constructor(context: ReceiptErrorContext & { expected: string; actual: string }) {
    super(
      'The receipt is for another response.',
      {
        code: 'RESPONSE_HASH_MISMATCH',
        details: `Received bytes hash to ${context.expected}, receipt names ${context.actual}.`,
      },
      context,
    )
  }
}

/** The receipt's usage or model differs from what the response itself reported. */
export class UsageMismatchError extends ReceiptError {
  override name = 'UsageMismatchError'
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
    super(
      `The receipt's ${context.field} is ${context.actual}, the response reported ${context.expected}.`,
      { code: 'USAGE_MISMATCH' },
      context,
    )
    this.field = context.field
    this.expected = context.expected
    this.actual = context.actual
  }
}

/** The receipt's amount is not the price table's price of its usage (capped at the spend cap). */
export class PriceMismatchError extends ReceiptError {
  override name = 'PriceMismatchError'
  readonly expected: bigint | undefined
  readonly actual: bigint
  constructor(
    context: ReceiptErrorContext & {
      expected: bigint | undefined
      actual: bigint
      details?: string
    },
  ) {
    super(
      context.expected === undefined
        ? `The receipt charges ${context.actual} for a model the price table does not price.`
        : `The receipt charges ${context.actual}, the price table says ${context.expected}.`,
      { code: 'PRICE_MISMATCH', details: context.details },
      context,
    )
    this.expected = context.expected
    this.actual = context.actual
  }
}

/** The receipt charges more than the attestation's spend cap (`maxAmountPerCall`). */
export class SpendCapExceededError extends ReceiptError {
  override name = 'SpendCapExceededError'
  constructor(context: ReceiptErrorContext & { cap: bigint; actual: bigint }) {
    super(
      `The receipt charges ${context.actual}, above the spend cap ${context.cap}.`,
      { code: 'SPEND_CAP_EXCEEDED' },
      context,
    )
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
    super(
      `Receipt chain ${context.kind} at seq ${context.seq}.`,
      { code: 'CHAIN_MISMATCH', details: context.details },
      context,
    )
    this.kind = context.kind
    this.seq = context.seq
    this.conflicting = context.conflicting
  }
}

/** `getReceipt()` was given something this package did not send (or that had no metered body). */
export class UnknownCallError extends BaseError {
  override name = 'UnknownCallError'
  constructor() {
    super('This response was not made through withRMA, createRmaFetch or rmaAxios.', {
      code: 'UNKNOWN_CALL',
      details:
        'Pass the Response from `.withResponse()` / `.asResponse()`, the Stream of a streaming call, or an axios response; only metered calls (POST to chat/completions, completions, responses, embeddings by default) have receipts.',
    })
  }
}

/** The options given to `withRMA`, `createRmaFetch` or `rmaAxios` are incomplete or invalid. */
export class InvalidClientOptionsError extends BaseError {
  override name = 'InvalidClientOptionsError'
  constructor(shortMessage: string, details?: string) {
    super(shortMessage, { code: 'INVALID_CLIENT_OPTIONS', details })
  }
}

/** `rma.prove()` found no fraud the settlement contract would accept in what it was given. */
export class NothingToProveError extends BaseError {
  override name = 'NothingToProveError'
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
