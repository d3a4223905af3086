/**
 * What a subclass whose message is worded at the throw site takes: its one-line `shortMessage`,
 * optional `details` (what to change) and the `cause`.
 *
 * @example
 * throw new InvalidUsageError({ shortMessage: 'usage.input_tokens is negative.' })
 */
export type BaseErrorParameters = {
  shortMessage: string
  details?: string | undefined
  cause?: unknown
}

/**
 * Every error thrown by `@rma/core` (and by the packages built on it) is a {@link BaseError}:
 * a stable `code` to branch on, a one-line `shortMessage` safe to show a user, optional
 * `details` (what to change), and the original `cause` when one exists.
 *
 * The family (viem style): each subclass has a literal `name`, a fixed `code` (one per class),
 * and a constructor that takes one object; each package exports the union of its classes as
 * `<Package>ErrorType` (`CoreErrorType` here). Only this base takes `(shortMessage, options)`.
 *
 * @example
 * try { decodeReceipt(header) } catch (e) {
 *   if (e instanceof BaseError && e.code === 'INVALID_ENCODING') reply(400, e.shortMessage)
 * }
 */
export class BaseError extends Error {
  override name = 'RmaError'
  readonly code: string
  readonly shortMessage: string
  readonly details: string | undefined

  constructor(
    shortMessage: string,
    options: { code: string; details?: string | undefined; cause?: unknown } = {
      code: 'RMA_ERROR',
    },
  ) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, {
      cause: options.cause,
    })
    this.code = options.code
    this.shortMessage = shortMessage
    this.details = options.details
  }
}

/** A field of a protocol object has a value of the wrong type or range. */
export class InvalidFieldError extends BaseError {
  override name = 'InvalidFieldError'
  declare readonly code: 'INVALID_FIELD'
  readonly field: string
  constructor({ field, expected, value }: { field: string; expected: string; value: unknown }) {
    super(`Invalid value for field "${field}": expected ${expected}.`, {
      code: 'INVALID_FIELD',
      details: `Received ${describe(value)}.`,
    })
    this.field = field
  }
}

/** Untrusted wire input (a header, a stored blob) could not be decoded. */
export class InvalidEncodingError extends BaseError {
  override name = 'InvalidEncodingError'
  declare readonly code: 'INVALID_ENCODING'
  constructor({ shortMessage, details, cause }: BaseErrorParameters) {
    super(shortMessage, { code: 'INVALID_ENCODING', details, cause })
  }
}

/** The signer asked to sign an object names a different address than its own. */
export class SignerMismatchError extends BaseError {
  override name = 'SignerMismatchError'
  declare readonly code: 'SIGNER_MISMATCH'
  constructor({ expected, actual }: { expected: string; actual: string }) {
    super(`Signer ${actual} cannot sign for ${expected}.`, {
      code: 'SIGNER_MISMATCH',
      details: 'Set the object’s signer field (meter or user) to the address of the signer.',
    })
  }
}

/** A model has no price in the table (also after alias and snapshot resolution). */
export class UnknownModelError extends BaseError {
  override name = 'UnknownModelError'
  declare readonly code: 'UNKNOWN_MODEL'
  readonly model: string
  constructor({ model }: { model: string }) {
    super(`Model "${model}" has no price.`, {
      code: 'UNKNOWN_MODEL',
      details: 'Add the model (or an alias to a priced model) to the price table.',
    })
    this.model = model
  }
}

/** A price table definition is malformed. */
export class InvalidPriceTableError extends BaseError {
  override name = 'InvalidPriceTableError'
  declare readonly code: 'INVALID_PRICE_TABLE'
  constructor({ shortMessage, details, cause }: BaseErrorParameters) {
    super(shortMessage, { code: 'INVALID_PRICE_TABLE', details, cause })
  }
}

/** A usage object is malformed or inconsistent (for example cached > input tokens). */
export class InvalidUsageError extends BaseError {
  override name = 'InvalidUsageError'
  declare readonly code: 'INVALID_USAGE'
  constructor({ shortMessage, details, cause }: BaseErrorParameters) {
    super(shortMessage, { code: 'INVALID_USAGE', details, cause })
  }
}

/** Revenue shares do not sum to 10,000 bps or are out of range. */
export class InvalidSharesError extends BaseError {
  override name = 'InvalidSharesError'
  declare readonly code: 'INVALID_SHARES'
  constructor({ shortMessage }: { shortMessage: string }) {
    super(shortMessage, {
      code: 'INVALID_SHARES',
      details: 'Each share is an integer number of basis points and the four sum to 10000.',
    })
  }
}

/** A pro-rata allocation has negative weights, or a positive total and no weight. */
export class InvalidAllocationError extends BaseError {
  override name = 'InvalidAllocationError'
  declare readonly code: 'INVALID_ALLOCATION'
  constructor({ shortMessage, details }: { shortMessage: string; details?: string | undefined }) {
    super(shortMessage, { code: 'INVALID_ALLOCATION', details })
  }
}

/** A Merkle tree cannot be built from no values. */
export class EmptyTreeError extends BaseError {
  override name = 'EmptyTreeError'
  declare readonly code: 'EMPTY_TREE'
  constructor({ shortMessage }: { shortMessage: string }) {
    super(shortMessage, { code: 'EMPTY_TREE' })
  }
}

/** A Merkle tree cannot be built from values that name one user twice. */
export class DuplicateLeafError extends BaseError {
  override name = 'DuplicateLeafError'
  declare readonly code: 'DUPLICATE_LEAF'
  constructor({ shortMessage }: { shortMessage: string }) {
    super(shortMessage, { code: 'DUPLICATE_LEAF' })
  }
}

/** A value asked of a Merkle tree is not one of its leaves. */
export class LeafNotFoundError extends BaseError {
  override name = 'LeafNotFoundError'
  declare readonly code: 'LEAF_NOT_FOUND'
  constructor({ leaf }: { leaf: string }) {
    super(`Leaf ${leaf} is not in the tree.`, { code: 'LEAF_NOT_FOUND' })
  }
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `bigint ${value}`
  if (typeof value === 'string')
    return `string "${value.length > 80 ? `${value.slice(0, 80)}…` : value}"`
  if (value === null) return 'null'
  return `${typeof value} ${String(value)}`
}

/**
 * A receipt's `cumulativeAmount` is not the previous receipt's cumulative amount plus its own
 * `amount` (or not `amount` at seq 1): acking it would sign a voucher for money no receipt
 * charged.
 */
export class CumulativeAmountMismatchError extends BaseError {
  override name = 'CumulativeAmountMismatchError'
  declare readonly code: 'CUMULATIVE_AMOUNT_MISMATCH'
  readonly seq: number
  readonly expected: bigint
  readonly actual: bigint
  constructor({ seq, expected, actual }: { seq: number; expected: bigint; actual: bigint }) {
    super(`Receipt at seq ${seq} has cumulativeAmount ${actual}, expected ${expected}.`, {
      code: 'CUMULATIVE_AMOUNT_MISMATCH',
      details:
        'cumulativeAmount must be the previous receipt’s cumulativeAmount plus this receipt’s amount (the amount itself at seq 1).',
    })
    this.seq = seq
    this.expected = expected
    this.actual = actual
  }
}
