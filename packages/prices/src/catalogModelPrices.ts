import type { CatalogModel, CatalogPrice, CatalogPrices } from './Catalog.js'
import { InvalidCatalogError } from './errors.js'
import { type Decimal, parseDecimal } from './parseDecimal.js'

/**
 * One price version of a catalog model in US dollars per 1M tokens (decimal strings), in the
 * token kinds of a core `ModelPriceInput`. An absent `cachedInput` / `cacheWrite` means "as
 * input" and an absent `reasoning` "as output" (the source's rule too: a cache read or a
 * reasoning token without a price of its own costs what its parent kind costs).
 */
export type CatalogPriceVersion = {
  effectiveFrom: number
  input: string
  cachedInput?: string
  cacheWrite?: string
  output: string
  reasoning?: string
}

/**
 * The price versions a price table uses for a catalog model, or `undefined` when the model has
 * no token price (image, audio, search or per-request pricing only; or no price at all).
 *
 * Policy where the source is richer than a price table (documented in the README):
 * - tiered prices (by the call's input tokens) → the base tier, the price below the first
 *   threshold; a call above it is priced at the base tier;
 * - a `start_date` price → a version effective from that date, 00:00 UTC;
 * - a `time_of_date` price (a daily window) → no hour of the day may sell below the source, so
 *   each version takes, kind by kind, the highest of its own price and the prices of the daily
 *   windows listed after it (the ones that override it in the source);
 * - kinds: `input_mtok` → input, `cache_read_mtok` → cachedInput, `cache_write_mtok` (the
 *   default 5-minute cache write) → cacheWrite, `output_mtok` → output, `output_reasoning_mtok`
 *   → reasoning; an absent input or output price is the source's "free": `"0"`.
 *
 * @example
 * catalogModelPrices(model) // [{ effectiveFrom: 0, input: '2.5', cachedInput: '1.25', output: '10' }]
 */
export function catalogModelPrices(model: CatalogModel): CatalogPriceVersion[] | undefined {
  const tokenPriced = model.prices.every(
    (e) => e.prices.input_mtok !== undefined || e.prices.output_mtok !== undefined,
  )
  if (!tokenPriced || model.prices.length === 0) return undefined
  const versions: CatalogPriceVersion[] = []
  model.prices.forEach((entry, i) => {
    const constraint = entry.constraint
    if (constraint?.type === 'time_of_date') return
    const effectiveFrom = constraint ? startOf(model.id, constraint.start_date) : 0
    const windows = model.prices
      .slice(i + 1)
      .filter((e) => e.constraint?.type === 'time_of_date')
      .map((e) => e.prices)
    versions.push({ effectiveFrom, ...highest([entry.prices, ...windows]) })
  })
  return versions
}

type Kinds = Omit<CatalogPriceVersion, 'effectiveFrom'>

function highest(list: readonly CatalogPrices[]): Kinds {
  const resolved = list.map(kindsOf)
  const first = resolved[0]!
  if (resolved.length === 1) return first
  const pick = (get: (k: Kinds) => string) =>
    resolved
      .map(get)
      .reduce((a, b) => (compare(parseDecimal(b, 'price'), parseDecimal(a, 'price')) > 0 ? b : a))
  return {
    input: pick((k) => k.input),
    cachedInput: pick((k) => k.cachedInput ?? k.input),
    cacheWrite: pick((k) => k.cacheWrite ?? k.input),
    output: pick((k) => k.output),
    reasoning: pick((k) => k.reasoning ?? k.output),
  }
}

function kindsOf(prices: CatalogPrices): Kinds {
  const kinds: Kinds = {
    input: base(prices.input_mtok) ?? '0',
    output: base(prices.output_mtok) ?? '0',
  }
  const cachedInput = base(prices.cache_read_mtok)
  const cacheWrite = base(prices.cache_write_mtok)
  const reasoning = base(prices.output_reasoning_mtok)
  if (cachedInput !== undefined) kinds.cachedInput = cachedInput
  if (cacheWrite !== undefined) kinds.cacheWrite = cacheWrite
  if (reasoning !== undefined) kinds.reasoning = reasoning
  return kinds
}

function base(price: CatalogPrice | undefined): string | undefined {
  return typeof price === 'object' ? price.base : price
}

function compare(a: Decimal, b: Decimal): number {
  const scale = Math.max(a.scale, b.scale)
  const x = a.units * 10n ** BigInt(scale - a.scale)
  const y = b.units * 10n ** BigInt(scale - b.scale)
  return x === y ? 0 : x > y ? 1 : -1
}

function startOf(model: string, date: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(date) ? Date.parse(`${date}T00:00:00Z`) : Number.NaN
  if (Number.isNaN(ms))
    throw new InvalidCatalogError({
      model,
      reason: `start_date "${date}" is not a YYYY-MM-DD date`,
    })
  return ms / 1000
}
