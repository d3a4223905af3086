import {
  createPriceTable,
  type ModelPriceInput,
  type PriceTable,
  type PriceVersion,
  type PriceVersionInput,
} from '@rma/core'
import type { Catalog, CatalogModel } from './Catalog.js'
import { catalog as bundled } from './catalog.generated.js'
import { type CatalogPriceVersion, catalogModelPrices } from './catalogModelPrices.js'
import {
  InvalidCatalogError,
  InvalidDecimalError,
  UnknownCatalogModelError,
  UnknownProviderError,
} from './errors.js'
import { findCatalogModel } from './findCatalogModel.js'
import { usdToBaseUnits } from './usdToBaseUnits.js'

/**
 * Providers priced by default, in priority order: the companies that make and sell the models
 * under the names their own APIs report. Resellers and clouds (`openrouter`, `aws`, `azure`,
 * `groq`, `together`, …) sell the same models at their own prices, often under the same names:
 * select them explicitly with `providers`.
 *
 * @example
 * createCatalogPriceTable({ decimals: 6, providers: [...defaultCatalogProviders, 'groq'] })
 */
export const defaultCatalogProviders = [
  'openai',
  'anthropic',
  'google',
  'mistral',
  'deepseek',
  'x-ai',
  'cohere',
  'moonshotai',
  'zhipuai',
  'zai',
  'minimax',
  'perplexity',
  'voyageai',
  'arcee',
] as const

/**
 * Every provider of the bundled snapshot: {@link defaultCatalogProviders} first, then the
 * others in snapshot order. `providers: allCatalogProviders` prices every name the catalog has.
 *
 * @example
 * createCatalogPriceTable({ decimals: 6, providers: allCatalogProviders }) // 1,809 names (0.1.8)
 */
export const allCatalogProviders: readonly string[] = [
  ...defaultCatalogProviders,
  ...bundled.providers
    .map((p) => p.id)
    .filter((id) => !(defaultCatalogProviders as readonly string[]).includes(id)),
]

/** A price given in base units per 1M tokens: core's `ModelPriceInput` or its versions. */
export type CatalogOverride = ModelPriceInput | readonly PriceVersionInput[]

export type CreateCatalogPriceTableParameters = {
  /** The payment token's decimals (6 for USDC). */
  decimals: number
  /** Payment tokens one US dollar buys, a decimal string; default `"1"` (a USD stablecoin). */
  usdRate?: string
  /** Catalog providers to price, in priority order; default {@link defaultCatalogProviders}. */
  providers?: readonly string[]
  /**
   * The names to price, as upstreams report them (snapshot names included), each resolved by the
   * catalog's match rules (see `findCatalogModel`); a name no provider matches throws
   * `UnknownCatalogModelError`. Default: every model id and exact alias of `providers`.
   */
  models?: readonly string[]
  /** Prices in base units per 1M tokens that replace (or add) any entry, catalog or not. */
  overrides?: Record<string, CatalogOverride>
  /** Extra names priced as another name of the table, e.g. `{ 'my-gpt': 'gpt-4o' }`. */
  aliases?: Record<string, string>
  /** Defaults to the bundled snapshot. */
  catalog?: Catalog
}

/**
 * A core `PriceTable` built from the maintained catalog (`@pydantic/genai-prices`, snapshot in
 * `catalog.generated.ts`), in payment-token base units per 1,000,000 tokens.
 *
 * Each catalog price (US dollars per 1M tokens, a decimal string) becomes
 * `price × usdRate × 10^decimals` base units, computed exactly on bigints and rounded up to a
 * whole base unit only when not already whole (see `usdToBaseUnits`). Names: every model id,
 * and every exact alias or snapshot name of the catalog, resolves to its model (a name is
 * priced by the first provider, in `providers` order, whose catalog matches it); names the
 * catalog only matches by pattern (`claude-sonnet-4-5-20250929`) are priced when listed in
 * `models`; the table still removes `-YYYY-MM-DD` / `-NNNN` snapshot suffixes itself. Token
 * kinds: cache read → `cachedInput`, cache write → `cacheWrite`, reasoning → `reasoning` (the
 * output price when the catalog has none). `overrides` replace any entry (an alias of an
 * overridden name follows it). A catalog snapshot name priced apart from its base name is left
 * out (it then prices as its base), so that every version of the table can be committed on
 * chain. A name in neither the catalog nor the overrides stays unpriced: core's `priceUsage`
 * throws `UnknownModelError` for it.
 *
 * @example
 * const prices = createCatalogPriceTable({
 *   decimals: 6, // USDC
 *   overrides: { 'gpt-4o': { input: 2_000_000n, output: 8_000_000n } }, // our own price
 * })
 * priceUsage(prices, 'gpt-4o-mini', usage)
 */
export function createCatalogPriceTable(parameters: CreateCatalogPriceTableParameters): PriceTable {
  const {
    decimals,
    usdRate = '1',
    providers = defaultCatalogProviders,
    overrides = {},
    catalog = bundled,
  } = parameters
  const known = catalog.providers.map((p) => p.id)
  for (const provider of providers)
    if (!known.includes(provider)) throw new UnknownProviderError({ provider, known })
  // Validates decimals and the rate before any model is converted.
  usdToBaseUnits({ usd: '0', usdRate, decimals })

  const names =
    parameters.models ??
    catalog.providers
      .filter((p) => providers.includes(p.id))
      .flatMap((p) => [p, ...catalog.providers.filter((f) => p.fallbackProviders?.includes(f.id))])
      .flatMap((p) => p.models.flatMap((m) => [m.id, ...m.aliases]))
  const resolved = new Map<string, CatalogModel>()
  for (const name of names) {
    if (resolved.has(name)) continue
    const found = findCatalogModel({ name, providers, catalog })
    if (found) resolved.set(name, found.model)
    else if (parameters.models && !Object.hasOwn(overrides, name))
      throw new UnknownCatalogModelError({ model: name, providers })
  }

  // Null-prototype records: a name such as `__proto__` is a key like any other.
  const models: Record<string, CatalogOverride> = Object.create(null)
  const aliases: Record<string, string> = Object.create(null)
  const converted = new Map<CatalogModel, CatalogOverride | null>()
  for (const [name, model] of resolved) {
    let prices = converted.get(model)
    if (prices === undefined) {
      prices = convert(model, usdRate, decimals)
      converted.set(model, prices)
    }
    if (prices === null) continue
    // A name is an alias when its model's own id is in the table and names that same model.
    if (name !== model.id && resolved.get(model.id) === model) aliases[name] = model.id
    else models[name] = prices
  }
  for (const [name, price] of Object.entries(overrides)) {
    models[name] = price
    delete aliases[name]
  }
  for (const [name, target] of Object.entries(parameters.aliases ?? {})) {
    delete models[name]
    aliases[name] = target
  }
  const table = createPriceTable({ models, aliases })
  // What the provider wrote itself is kept as given (core and the meter judge it).
  const given = (name: string) =>
    Object.hasOwn(overrides, name) || Object.hasOwn(parameters.aliases ?? {}, name)
  const apart = snapshotsPricedApart(table, given)
  if (apart.length === 0) return table
  for (const name of apart) {
    delete models[name]
    delete aliases[name]
  }
  // Catalog aliases of a name left out go with it (a provider's alias to it fails in core).
  for (const [alias, target] of Object.entries(aliases))
    if (apart.includes(target) && !given(alias)) delete aliases[alias]
  return createPriceTable({ models, aliases })
}

/**
 * `-2024-08-06` or `-0613`: the snapshot suffix core strips when it looks a name up (and the
 * contract's mispricing proof accepts the base name's leaf for a snapshot). Core keeps the rule
 * internal; `createCatalogPriceTable.test.ts` checks this copy against core's tree builder.
 */
const snapshotSuffix = /-(\d{4}-\d{2}-\d{2}|\d{4})$/

/**
 * Catalog names (not the provider's overrides or aliases) with a snapshot suffix whose base name is also in the table at
 * other prices. A committed price table cannot hold both (a mispricing proof may price the
 * snapshot with its base's leaf), so the snapshot name is left out and priced as its base.
 */
function snapshotsPricedApart(table: PriceTable, given: (name: string) => boolean): string[] {
  const pricesOf = (name: string) =>
    table.models.get(name) ?? table.models.get(table.aliases.get(name) ?? '')
  const key = (versions: readonly PriceVersion[] | undefined) =>
    JSON.stringify(versions, (_, v) => (typeof v === 'bigint' ? v.toString() : v))
  const apart: string[] = []
  for (const name of [...table.models.keys(), ...table.aliases.keys()]) {
    const base = name.replace(snapshotSuffix, '')
    if (base === name || given(name) || !pricesOf(base)) continue
    if (key(pricesOf(name)) !== key(pricesOf(base))) apart.push(name)
  }
  return apart
}

/** A model's versions in base units, or null when it has no token price. */
function convert(model: CatalogModel, usdRate: string, decimals: number): CatalogOverride | null {
  try {
    const versions = catalogModelPrices(model)
    return versions ? versions.map((v) => toBaseUnits(v, usdRate, decimals)) : null
  } catch (error) {
    // A catalog passed in (not the bundled one) may hold a price that is not a decimal string.
    if (error instanceof InvalidDecimalError)
      throw new InvalidCatalogError({ model: model.id, reason: error.shortMessage, cause: error })
    throw error
  }
}

function toBaseUnits(
  version: CatalogPriceVersion,
  usdRate: string,
  decimals: number,
): PriceVersionInput {
  const convert = (usd: string) => usdToBaseUnits({ usd, usdRate, decimals })
  const price: PriceVersionInput = {
    effectiveFrom: version.effectiveFrom,
    input: convert(version.input),
    output: convert(version.output),
  }
  if (version.cachedInput !== undefined) price.cachedInput = convert(version.cachedInput)
  if (version.cacheWrite !== undefined) price.cacheWrite = convert(version.cacheWrite)
  if (version.reasoning !== undefined) price.reasoning = convert(version.reasoning)
  return price
}
