// Whole-catalog tests build tables of up to 1,800 names (and their Merkle trees) several
// times: their time limit is generous for a shared CI machine (no test asserts a duration).
import {
  type BaseError,
  createPriceTableRoots,
  createPriceTableTree,
  InvalidPriceTableError,
  priceEntryOf,
  priceTableVersionAt,
  priceUsage,
  resolveModelPrice,
  UnknownModelError,
} from '@rma/core'
import { describe, expect, it } from 'vitest'
import type { Catalog } from './Catalog.js'
import { catalog } from './catalog.generated.js'
import { catalogModelPrices } from './catalogModelPrices.js'
import {
  allCatalogProviders,
  createCatalogPriceTable,
  defaultCatalogProviders,
} from './createCatalogPriceTable.js'
import {
  InvalidCatalogError,
  InvalidDecimalError,
  InvalidDecimalsError,
  UnknownCatalogModelError,
  UnknownProviderError,
} from './errors.js'
import { findCatalogModel } from './findCatalogModel.js'

const AT = 1_780_000_000
const usage = { inputTokens: 1000, cachedInputTokens: 0, outputTokens: 1000, reasoningTokens: 0 }

/** Distinct catalog models a table prices, per provider. */
function coverage(providers: readonly string[]) {
  const table = createCatalogPriceTable({ decimals: 6, providers })
  const models = new Set<string>()
  const perProvider = new Map<string, number>()
  for (const name of [...table.models.keys(), ...table.aliases.keys()]) {
    const found = findCatalogModel({ name, providers })!
    const key = `${found.provider.id}:${found.model.id}`
    if (models.has(key)) continue
    models.add(key)
    perProvider.set(found.provider.id, (perProvider.get(found.provider.id) ?? 0) + 1)
  }
  return { table, models: models.size, providers: perProvider.size, perProvider }
}

describe('createCatalogPriceTable', () => {
  it('records where its prices come from', () => {
    expect(catalog.source.package).toBe('@pydantic/genai-prices')
    expect(catalog.source.version).toMatch(/^\d+\.\d+\.\d+$/)
    expect(catalog.source.generatedAt).toMatch(/^\d{4}-\d{2}-\d{2}$/)
  })

  it('prices at least 300 catalog models across at least 5 providers', () => {
    const all = coverage(allCatalogProviders)
    console.log(
      `catalog ${catalog.source.version}: all providers ${all.models} models / ${all.providers} providers / ${all.table.models.size + all.table.aliases.size} names`,
    )
    expect(all.models).toBeGreaterThanOrEqual(300)
    expect(all.providers).toBeGreaterThanOrEqual(5)
    const first = coverage(defaultCatalogProviders)
    console.log(
      `default providers ${first.models} models / ${first.providers} providers / ${first.table.models.size + first.table.aliases.size} names: ${JSON.stringify(Object.fromEntries(first.perProvider))}`,
    )
    expect(first.providers).toBeGreaterThanOrEqual(5)
    expect(first.table.models.size + first.table.aliases.size).toBeGreaterThanOrEqual(300)
    for (const provider of ['openai', 'anthropic', 'google', 'mistral', 'deepseek'])
      expect(first.perProvider.get(provider)).toBeGreaterThan(0)
  }, 120_000)

  it('every priced name resolves to a whole, non-negative price at 6 and at 18 decimals', () => {
    for (const decimals of [6, 18]) {
      const table = createCatalogPriceTable({ decimals, providers: allCatalogProviders })
      for (const name of [...table.models.keys(), ...table.aliases.keys()]) {
        const { effectiveFrom: _, ...price } = resolveModelPrice(table, name, AT) as {
          effectiveFrom?: number
        }
        for (const value of Object.values(price)) {
          expect(typeof value).toBe('bigint')
          expect(value).toBeGreaterThanOrEqual(0n)
        }
      }
    }
  }, 120_000)

  it('resolves aliases and snapshot names to their model', () => {
    const table = createCatalogPriceTable({ decimals: 6 })
    expect(table.aliases.get('gpt-4o-2024-08-06')).toBe('gpt-4o')
    expect(table.aliases.get('claude-opus-4-20250514')).toBe('claude-opus-4-0')
    expect(table.aliases.get('gpt-35-turbo')).toBe('gpt-3.5-turbo')
    expect(table.models.get('gpt-4o')?.[0]?.input).toBe(2_500_000n)
  })

  it('maps provider token kinds: cache read → cachedInput, reasoning → output unless priced', () => {
    const table = createCatalogPriceTable({ decimals: 6 })
    expect(resolveModelPrice(table, 'claude-sonnet-4-5', AT)).toMatchObject({
      input: 3_000_000n,
      cachedInput: 300_000n,
      output: 15_000_000n,
      reasoning: 15_000_000n,
    })
    // Mistral publishes no cache price for mistral-large: cached tokens cost input.
    expect(resolveModelPrice(table, 'mistral-large', AT)).toMatchObject({
      input: 2_000_000n,
      cachedInput: 2_000_000n,
    })
  })

  it('prices only the names listed in `models`, each resolved by the catalog', () => {
    const table = createCatalogPriceTable({
      decimals: 6,
      models: ['claude-sonnet-4-5-20250929', 'gpt-4o', 'gpt-4o-2024-08-06'],
    })
    expect([...table.models.keys()].sort()).toEqual(['claude-sonnet-4-5-20250929', 'gpt-4o'])
    expect(table.aliases.get('gpt-4o-2024-08-06')).toBe('gpt-4o')
    // 1000×3 + 1000×15 = 18000 micro-dollars
    expect(priceUsage(table, 'claude-sonnet-4-5-20250929', usage, { at: AT })).toBe(18_000n)
    expect(() => priceUsage(table, 'gpt-4o-mini', usage, { at: AT })).toThrow(UnknownModelError)
  })

  it('overrides replace any entry, and aliases follow the overridden model', () => {
    const table = createCatalogPriceTable({
      decimals: 6,
      overrides: {
        'gpt-4o': { input: 1_000_000n, output: 2_000_000n },
        'gpt-4o-mini-2024-07-18': { input: 7n, output: 7n },
        'my-model': [
          { input: '1', output: '1', effectiveFrom: 0 },
          { input: '2', output: '2', effectiveFrom: AT },
        ],
      },
    })
    // 1000×1 + 1000×2 = 3000 (catalog: 1000×2.5 + 1000×10 = 12500)
    expect(priceUsage(table, 'gpt-4o', usage, { at: AT })).toBe(3_000n)
    expect(priceUsage(table, 'gpt-4o-2024-08-06', usage, { at: AT })).toBe(3_000n)
    // The overridden alias became its own model; its old target keeps the catalog price.
    expect(table.aliases.has('gpt-4o-mini-2024-07-18')).toBe(false)
    expect(priceUsage(table, 'gpt-4o-mini-2024-07-18', usage, { at: AT })).toBe(1n) // ceil(14000 / 1e6)
    expect(priceUsage(table, 'gpt-4o-mini', usage, { at: AT })).toBe(750n) // 1000×0.15 + 1000×0.6
    expect(priceUsage(table, 'my-model', usage, { at: AT - 1 })).toBe(1n)
    expect(priceUsage(table, 'my-model', usage, { at: AT })).toBe(1n)
    expect(resolveModelPrice(table, 'my-model', AT).input).toBe(2n)
  })

  it('takes any name as a key, `__proto__` included', () => {
    const overrides = JSON.parse('{"__proto__": {"input": "3", "output": "4"}}')
    const table = createCatalogPriceTable({ decimals: 6, models: [], overrides })
    expect(resolveModelPrice(table, '__proto__', AT)).toMatchObject({ input: 3n, output: 4n })
  })

  it('overrides and aliases work with `models`, and extra aliases point into the table', () => {
    const table = createCatalogPriceTable({
      decimals: 6,
      models: ['gpt-4o'],
      overrides: { 'gpt-4o': { input: 5n, output: 5n } },
      aliases: { 'my-gpt': 'gpt-4o' },
    })
    expect(resolveModelPrice(table, 'my-gpt', AT).input).toBe(5n)
  })

  it('leaves a name in neither catalog nor overrides unpriced: core throws UnknownModelError', () => {
    const table = createCatalogPriceTable({ decimals: 6 })
    const call = () => priceUsage(table, 'llama-3.3-70b-versatile', usage, { at: AT })
    expect(call).toThrow(UnknownModelError)
    expect(call).toThrow('Model "llama-3.3-70b-versatile" has no price.')
    // Non-token models (image generation) are not priced at zero either.
    expect(() => priceUsage(table, 'dall-e-3', usage, { at: AT })).toThrow(UnknownModelError)
    // A provider that sells it prices it.
    const groq = createCatalogPriceTable({ decimals: 6, providers: ['groq'] })
    expect(priceUsage(groq, 'llama-3.3-70b-versatile', usage, { at: AT })).toBe(1_380n) // 1000×0.59 + 1000×0.79
  })

  it('rejects bad parameters with typed errors and builds nothing', () => {
    const cases: [() => unknown, new (...args: never[]) => BaseError, string][] = [
      [() => createCatalogPriceTable({ decimals: 6.5 }), InvalidDecimalsError, 'INVALID_DECIMALS'],
      [
        () => createCatalogPriceTable({ decimals: 6, usdRate: '1e0' }),
        InvalidDecimalError,
        'INVALID_DECIMAL',
      ],
      [
        () => createCatalogPriceTable({ decimals: 6, providers: ['openia'] }),
        UnknownProviderError,
        'UNKNOWN_PROVIDER',
      ],
      [
        () => createCatalogPriceTable({ decimals: 6, models: ['no-such-model-x'] }),
        UnknownCatalogModelError,
        'UNKNOWN_CATALOG_MODEL',
      ],
    ]
    for (const [call, type, code] of cases) {
      expect(call).toThrow(type)
      try {
        call()
      } catch (e) {
        expect((e as BaseError).code).toBe(code)
      }
    }
    expect(() => createCatalogPriceTable({ decimals: 6, providers: ['openia'] })).toThrow(
      /^Provider "openia" is not in the price catalog\.\n\nDetails: Known providers: anthropic, /,
    )
    expect(() =>
      createCatalogPriceTable({ decimals: 6, models: ['no-such-model-x'], providers: ['openai'] }),
    ).toThrow(
      'Model "no-such-model-x" is not in the price catalog.\n\nDetails: No model of openai matches it: price it with `overrides`, or select the provider that sells it.',
    )
  })

  it('builds committable tables: every version of the default and the full table is a tree', () => {
    // The meter's and the client's own builder: one tree per version, or InvalidPriceTableError.
    for (const providers of [defaultCatalogProviders, allCatalogProviders]) {
      const roots = createPriceTableRoots(createCatalogPriceTable({ decimals: 6, providers }))
      expect(roots.versions.length).toBeGreaterThan(1)
    }
    const table = createCatalogPriceTable({ decimals: 6 })
    const tree = createPriceTableTree(table, { at: priceTableVersionAt(table, AT)! })
    expect(createPriceTableRoots(table).rootAt(AT)).toBe(tree.root)
    expect(tree.entry('gpt-4o-2024-08-06')).toEqual({
      model: 'gpt-4o-2024-08-06',
      input: 2_500_000n,
      cachedInput: 1_250_000n,
      cacheWrite: 2_500_000n,
      output: 10_000_000n,
      reasoning: 10_000_000n,
    })
    expect(tree.entry('claude-sonnet-4-5').cacheWrite).toBe(3_750_000n)
  }, 120_000)

  it('leaves out the snapshots the catalog prices apart from their base, which then price as the base', () => {
    // What the catalog holds (dearer, older snapshots), and what a committed table cannot: a
    // mispricing proof may price a snapshot with its base name's leaf.
    const apart = {
      'gpt-4o-2024-05-13': 'gpt-4o',
      'gpt-3.5-turbo-0301': 'gpt-3.5-turbo',
      'gpt-3.5-turbo-0613': 'gpt-3.5-turbo',
      'gpt-3.5-turbo-1106': 'gpt-3.5-turbo',
      'mistral-medium-2312': 'mistral-medium',
      'ministral-3b-2512': 'ministral-3b',
      'ministral-8b-2512': 'ministral-8b',
      'mistral-large-2512': 'mistral-large',
    }
    const table = createCatalogPriceTable({ decimals: 6 })
    const snapshot = findCatalogModel({ name: 'gpt-4o-2024-05-13', providers: ['openai'] })!
    expect(snapshot.model.prices[0]?.prices.input_mtok).toBe('5') // the catalog's own price
    for (const [name, base] of Object.entries(apart)) {
      expect(table.models.has(name) || table.aliases.has(name)).toBe(false)
      // Core's own snapshot rule takes the name to its base (this package's copy agrees).
      expect(priceEntryOf(table, name, AT).model).toBe(base)
    }
    // 1000×2.5 + 1000×10, as gpt-4o
    expect(priceUsage(table, 'gpt-4o-2024-05-13', usage, { at: AT })).toBe(12_500n)
    // Exactly these were left out: a name with its own price equal to its base's stays.
    const names = (t: typeof table) => new Set([...t.models.keys(), ...t.aliases.keys()])
    const kept = names(table)
    const catalogNames = defaultCatalogProviders.flatMap((id) =>
      catalog.providers
        .find((p) => p.id === id)!
        .models.flatMap((m) => [m.id, ...m.aliases])
        .filter(
          (n) =>
            findCatalogModel({ name: n, providers: defaultCatalogProviders })?.provider.id === id,
        ),
    )
    const missing = new Set(catalogNames.filter((n) => !kept.has(n) && resolvesToTokenPrice(n)))
    expect([...missing].sort()).toEqual(Object.keys(apart).sort())
  }, 120_000)

  it('keeps a provider’s override of a snapshot, even one the chain would refuse', () => {
    const table = createCatalogPriceTable({
      decimals: 6,
      overrides: { 'gpt-4o-2024-05-13': { input: 5_000_000n, output: 15_000_000n } },
    })
    expect(priceUsage(table, 'gpt-4o-2024-05-13', usage, { at: AT })).toBe(20_000n)
    expect(() => createPriceTableTree(table, { at: AT })).toThrow(InvalidPriceTableError)
  })
})

function resolvesToTokenPrice(name: string): boolean {
  const found = findCatalogModel({ name, providers: defaultCatalogProviders })
  return found !== undefined && catalogModelPrices(found.model) !== undefined
}

describe('createCatalogPriceTable against a bad catalog or rate', () => {
  const catalogWith = (input: unknown): Catalog => ({
    source: { package: 'test', version: '0', generatedAt: '2026-01-01' },
    providers: [
      {
        id: 'p',
        name: 'P',
        models: [
          {
            id: 'm',
            match: { equals: 'm' },
            aliases: [],
            prices: [{ prices: { input_mtok: input as string, output_mtok: '1' } }],
          },
        ],
      },
    ],
  })

  it.each([-1, '-1', '1e-7', 0.5, 'free'])(
    'refuses the catalog price %s instead of guessing',
    (input) => {
      const call = () =>
        createCatalogPriceTable({ decimals: 6, providers: ['p'], catalog: catalogWith(input) })
      expect(call).toThrow(InvalidCatalogError)
      expect(call).toThrow(
        'Catalog model "m" cannot be priced: usd must be a non-negative decimal string.',
      )
    },
  )

  it('refuses a zero rate, which would give every call away', () => {
    for (const usdRate of ['0', '0.000'])
      expect(() => createCatalogPriceTable({ decimals: 6, usdRate })).toThrow(
        'usdRate must be a positive decimal string.',
      )
  })
})
