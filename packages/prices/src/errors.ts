import { BaseError } from '@rma/core'

/**
 * A price or rate is not a non-negative decimal string such as `"2.5"` or `"0.0375"` (or, for a
 * rate, is zero: a zero rate would price every call at nothing).
 */
export class InvalidDecimalError extends BaseError {
  override name = 'InvalidDecimalError'
  declare readonly code: 'INVALID_DECIMAL'
  readonly field: string
  constructor({
    field,
    value,
    positive = false,
  }: { field: string; value: unknown; positive?: boolean }) {
    super(`${field} must be a ${positive ? 'positive' : 'non-negative'} decimal string.`, {
      code: 'INVALID_DECIMAL',
      details: `Write it like "2.5" or "0.0375" (digits, at most one point, no sign or exponent); received ${describe(value)}.`,
    })
    this.field = field
  }
}

/** `decimals` is not the payment token's number of decimals (an integer from 0 to 255). */
export class InvalidDecimalsError extends BaseError {
  override name = 'InvalidDecimalsError'
  declare readonly code: 'INVALID_DECIMALS'
  constructor({ value }: { value: unknown }) {
    super('decimals must be an integer from 0 to 255.', {
      code: 'INVALID_DECIMALS',
      details: `Pass the payment token's ERC-20 decimals (6 for USDC); received ${describe(value)}.`,
    })
  }
}

/** A provider id is not in the catalog snapshot. */
export class UnknownProviderError extends BaseError {
  override name = 'UnknownProviderError'
  declare readonly code: 'UNKNOWN_PROVIDER'
  readonly provider: string
  constructor({ provider, known }: { provider: string; known: readonly string[] }) {
    super(`Provider "${provider}" is not in the price catalog.`, {
      code: 'UNKNOWN_PROVIDER',
      details: `Known providers: ${known.join(', ')}.`,
    })
    this.provider = provider
  }
}

/** A model name asked for by `models` matches no model of the selected catalog providers. */
export class UnknownCatalogModelError extends BaseError {
  override name = 'UnknownCatalogModelError'
  declare readonly code: 'UNKNOWN_CATALOG_MODEL'
  readonly model: string
  constructor({ model, providers }: { model: string; providers: readonly string[] }) {
    super(`Model "${model}" is not in the price catalog.`, {
      code: 'UNKNOWN_CATALOG_MODEL',
      details: `No model of ${providers.join(', ')} matches it: price it with \`overrides\`, or select the provider that sells it.`,
    })
    this.model = model
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `string "${value}"`
  if (typeof value === 'bigint') return `bigint ${value}`
  return value === null ? 'null' : `${typeof value} ${String(value)}`
}

/** A catalog snapshot holds a value the price table cannot use (a bad date, say). */
export class InvalidCatalogError extends BaseError {
  override name = 'InvalidCatalogError'
  declare readonly code: 'INVALID_CATALOG'
  constructor({ model, reason, cause }: { model: string; reason: string; cause?: unknown }) {
    super(`Catalog model "${model}" cannot be priced: ${reason.replace(/\.$/, '')}.`, {
      code: 'INVALID_CATALOG',
      details:
        'Regenerate the snapshot (`pnpm --filter @rma/prices generate`) or override the model.',
      cause,
    })
  }
}
