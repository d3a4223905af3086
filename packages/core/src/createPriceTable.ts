import { InvalidPriceTableError } from './errors.js'

/** An amount given in config: a bigint, a safe integer, or a decimal integer string. */
export type AmountInput = bigint | number | string

/**
 * Prices of one model in payment-token base units per 1,000,000 tokens.
 * `cachedInput` (prompt-cache reads) and `cacheWrite` (prompt-cache writes) default to `input`;
 * `reasoning` defaults to `output`.
 */
export type ModelPriceInput = {
  input: AmountInput
  cachedInput?: AmountInput
  cacheWrite?: AmountInput
  output: AmountInput
  reasoning?: AmountInput
}

/** A price in force from `effectiveFrom` (unix seconds) until the next version's. */
export type PriceVersionInput = ModelPriceInput & { effectiveFrom: number }

export type CreatePriceTableParameters = {
  /** Per model: one price (in force since 0) or its price versions. */
  models: Record<string, ModelPriceInput | readonly PriceVersionInput[]>
  /** Extra names priced as another model, e.g. `{ 'my-finetune': 'gpt-4o-mini' }`. */
  aliases?: Record<string, string>
}

export type ModelPrice = {
  input: bigint
  cachedInput: bigint
  cacheWrite: bigint
  output: bigint
  reasoning: bigint
}
export type PriceVersion = ModelPrice & { effectiveFrom: number }

/** A validated price table; build it with {@link createPriceTable}, use it with {@link priceUsage}. */
export type PriceTable = {
  readonly models: ReadonlyMap<string, readonly PriceVersion[]>
  readonly aliases: ReadonlyMap<string, string>
}

/**
 * Validates a price definition once into a table. Throws {@link InvalidPriceTableError} for
 * negative or fractional prices, duplicate effective times, or an alias to an unpriced model.
 *
 * @example
 * const table = createPriceTable({
 *   models: {
 *     // USDC (6 decimals): $2.50 / $1.25 / $10.00 per 1M tokens
 *     'gpt-4o': { input: 2_500_000n, cachedInput: 1_250_000n, output: 10_000_000n },
 *   },
 * })
 */
export function createPriceTable(parameters: CreatePriceTableParameters): PriceTable {
  const models = new Map<string, PriceVersion[]>()
  for (const [model, definition] of Object.entries(parameters.models)) {
    const list: readonly PriceVersionInput[] = Array.isArray(definition)
      ? definition
      : [{ ...(definition as ModelPriceInput), effectiveFrom: 0 }]
    if (list.length === 0)
      throw new InvalidPriceTableError({ shortMessage: `Model "${model}" has no price version.` })
    const versions = list
      .map((v) => toVersion(model, v))
      .sort((a, b) => a.effectiveFrom - b.effectiveFrom)
    for (let i = 1; i < versions.length; i++)
      if (versions[i]!.effectiveFrom === versions[i - 1]!.effectiveFrom)
        throw new InvalidPriceTableError({
          shortMessage: `Model "${model}" has two prices effective from ${versions[i]!.effectiveFrom}.`,
        })
    models.set(model, versions)
  }
  const aliases = new Map<string, string>()
  for (const [alias, target] of Object.entries(parameters.aliases ?? {})) {
    if (!models.has(target))
      throw new InvalidPriceTableError({
        shortMessage: `Alias "${alias}" points to unpriced model "${target}".`,
      })
    aliases.set(alias, target)
  }
  return { models, aliases }
}

function toVersion(model: string, v: PriceVersionInput): PriceVersion {
  if (!Number.isSafeInteger(v.effectiveFrom) || v.effectiveFrom < 0)
    throw new InvalidPriceTableError({
      shortMessage: `Model "${model}": effectiveFrom must be unix seconds.`,
    })
  const input = toAmount(model, 'input', v.input)
  const output = toAmount(model, 'output', v.output)
  return {
    effectiveFrom: v.effectiveFrom,
    input,
    cachedInput:
      v.cachedInput === undefined ? input : toAmount(model, 'cachedInput', v.cachedInput),
    cacheWrite: v.cacheWrite === undefined ? input : toAmount(model, 'cacheWrite', v.cacheWrite),
    output,
    reasoning: v.reasoning === undefined ? output : toAmount(model, 'reasoning', v.reasoning),
  }
}

function toAmount(model: string, field: string, value: unknown): bigint {
  const ok =
    typeof value === 'bigint' ||
    (typeof value === 'number' && Number.isSafeInteger(value)) ||
    (typeof value === 'string' && /^\d+$/.test(value))
  const amount = ok ? BigInt(value as bigint) : -1n
  if (amount < 0n)
    throw new InvalidPriceTableError({
      shortMessage: `Model "${model}": ${field} price must be a non-negative integer of base units, got ${String(value)}.`,
    })
  return amount
}
