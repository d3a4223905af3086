/**
 * Golden usage shapes across providers. Every expected amount below was computed by hand from
 * the prices the source publishes (the `usd` of each row, USD per 1M tokens, as in
 * `@pydantic/genai-prices` 0.1.8), never by the code under test. At 6 decimals (USDC) one base
 * unit is one micro-dollar, so a call costs `ceil(Σ tokens × price)` base units with the
 * prices in dollars per 1M tokens: the arithmetic is written beside each row.
 *
 * Token semantics are core's (OpenAI's): cached and cache-write tokens are part of
 * `inputTokens`, reasoning tokens part of `outputTokens`. Anthropic rows note the raw
 * `usage` fields (`input_tokens` excludes cache reads and writes) they come from.
 */
import { priceUsage, UnknownModelError, type Usage } from '@rma/core'
import { describe, expect, it } from 'vitest'
import { catalogModelPrices } from './catalogModelPrices.js'
import { createCatalogPriceTable, defaultCatalogProviders } from './createCatalogPriceTable.js'
import { findCatalogModel } from './findCatalogModel.js'

/** 2026-05-28T20:26:40Z: after o3's 2025-06-10 price cut, before any 2026-07+ version. */
const AT = 1_780_000_000

type Row = {
  model: string
  /** The catalog model id the name resolves to. */
  id: string
  usd: { input: string; cachedInput?: string; cacheWrite?: string; output: string }
  usage: [input: number, cached: number, output: number, reasoning: number]
  /** Input tokens written to the prompt cache (Anthropic `cache_creation_input_tokens`). */
  cacheWrite?: number
  expected: bigint
  /** Priced only when listed in `models` (the catalog matches it by pattern or case). */
  listedOnly?: true
  at?: number
}

// biome-ignore format: one row per line keeps the hand arithmetic beside its row
const rows: Row[] = [
  // OpenAI
  { model: 'gpt-4o', id: 'gpt-4o', usd: { input: '2.5', cachedInput: '1.25', output: '10' },
    usage: [1200, 1000, 300, 0], expected: 4750n }, // 200×2.5 + 1000×1.25 + 300×10 = 500 + 1250 + 3000
  { model: 'gpt-4o-2024-08-06', id: 'gpt-4o', usd: { input: '2.5', cachedInput: '1.25', output: '10' },
    usage: [1000, 0, 500, 0], expected: 7500n }, // 1000×2.5 + 500×10 = 2500 + 5000
  { model: 'gpt-4o', id: 'gpt-4o', usd: { input: '2.5', cachedInput: '1.25', output: '10' },
    usage: [0, 0, 0, 0], expected: 0n }, // nothing used, nothing charged
  { model: 'gpt-4o-mini', id: 'gpt-4o-mini', usd: { input: '0.15', cachedInput: '0.075', output: '0.6' },
    usage: [12345, 0, 678, 0], expected: 2259n }, // 12345×0.15 + 678×0.6 = 1851.75 + 406.8 = 2258.55 → 2259
  { model: 'gpt-4o-mini-2024-07-18', id: 'gpt-4o-mini', usd: { input: '0.15', cachedInput: '0.075', output: '0.6' },
    usage: [5000, 4096, 100, 0], expected: 503n }, // 904×0.15 + 4096×0.075 + 100×0.6 = 135.6 + 307.2 + 60 = 502.8 → 503
  { model: 'o3', id: 'o3', usd: { input: '2', cachedInput: '0.5', output: '8' },
    usage: [2000, 1024, 5000, 4500], expected: 42464n }, // 976×2 + 1024×0.5 + 500×8 + 4500×8 = 1952 + 512 + 4000 + 36000
  { model: 'o3', id: 'o3', usd: { input: '10', cachedInput: '0.5', output: '40' }, at: 1_735_689_600, // 2025-01-01
    usage: [2000, 1024, 5000, 4500], expected: 210272n }, // 976×10 + 1024×0.5 + 5000×40 = 9760 + 512 + 200000
  { model: 'o4-mini', id: 'o4-mini', usd: { input: '1.1', cachedInput: '0.275', output: '4.4' },
    usage: [3000, 0, 2000, 1800], expected: 12100n }, // 3000×1.1 + 2000×4.4 = 3300 + 8800 (reasoning at output)
  { model: 'gpt-4.1', id: 'gpt-4.1', usd: { input: '2', cachedInput: '0.5', output: '8' },
    usage: [100000, 50000, 1000, 0], expected: 133000n }, // 50000×2 + 50000×0.5 + 1000×8 = 100000 + 25000 + 8000
  { model: 'gpt-4.1-nano', id: 'gpt-4.1-nano', usd: { input: '0.1', cachedInput: '0.025', output: '0.4' },
    usage: [7, 0, 3, 0], expected: 2n }, // 7×0.1 + 3×0.4 = 0.7 + 1.2 = 1.9 → 2
  { model: 'gpt-5', id: 'gpt-5', usd: { input: '1.25', cachedInput: '0.125', output: '10' },
    usage: [1500, 1280, 800, 640], expected: 8435n }, // 220×1.25 + 1280×0.125 + 800×10 = 275 + 160 + 8000
  { model: 'gpt-5-mini', id: 'gpt-5-mini', usd: { input: '0.25', cachedInput: '0.025', output: '2' },
    usage: [900, 0, 50, 0], expected: 325n }, // 900×0.25 + 50×2 = 225 + 100
  { model: 'text-embedding-3-small', id: 'text-embedding-3-small', usd: { input: '0.02', output: '0' },
    usage: [8191, 0, 0, 0], expected: 164n }, // 8191×0.02 = 163.82 → 164
  // Anthropic (cache reads; cache writes: see below)
  { model: 'claude-sonnet-4-5', id: 'claude-sonnet-4-5', usd: { input: '3', cachedInput: '0.3', cacheWrite: '3.75', output: '15' },
    usage: [20050, 20000, 400, 0], expected: 12150n }, // input_tokens 50, cache_read 20000: 50×3 + 20000×0.3 + 400×15 = 150 + 6000 + 6000
  { model: 'claude-sonnet-4-5-20250929', id: 'claude-sonnet-4-5', listedOnly: true,
    usd: { input: '3', cachedInput: '0.3', cacheWrite: '3.75', output: '15' },
    usage: [1000, 0, 1000, 0], expected: 18000n }, // 1000×3 + 1000×15
  { model: 'claude-3-5-haiku-latest', id: 'claude-3-5-haiku-latest', usd: { input: '0.8', cachedInput: '0.08', cacheWrite: '1', output: '4' },
    usage: [2000, 0, 1000, 0], expected: 5600n }, // 2000×0.8 + 1000×4 = 1600 + 4000
  { model: 'claude-opus-4-1', id: 'claude-opus-4-1', usd: { input: '15', cachedInput: '1.5', cacheWrite: '18.75', output: '75' },
    usage: [10000, 8000, 2000, 0], expected: 192000n }, // 2000×15 + 8000×1.5 + 2000×75 = 30000 + 12000 + 150000
  { model: 'claude-3-haiku-20240307', id: 'claude-3-haiku', listedOnly: true,
    usd: { input: '0.25', cachedInput: '0.03', cacheWrite: '0.3', output: '1.25' },
    usage: [333, 0, 77, 0], expected: 180n }, // 333×0.25 + 77×1.25 = 83.25 + 96.25 = 179.5 → 180
  { model: 'claude-haiku-4-5', id: 'claude-haiku-4-5', usd: { input: '1', cachedInput: '0.1', cacheWrite: '1.25', output: '5' },
    usage: [1234, 1000, 56, 0], expected: 614n }, // 234×1 + 1000×0.1 + 56×5 = 234 + 100 + 280
  // Anthropic cache writes (input_tokens + cache_read + cache_creation = inputTokens)
  { model: 'claude-sonnet-4-5', id: 'claude-sonnet-4-5', usd: { input: '3', cachedInput: '0.3', cacheWrite: '3.75', output: '15' },
    usage: [5100, 0, 300, 0], cacheWrite: 5000, expected: 23550n }, // input_tokens 100, creation 5000: 100×3 + 5000×3.75 + 300×15 = 300 + 18750 + 4500
  { model: 'claude-3-5-haiku-latest', id: 'claude-3-5-haiku-latest', usd: { input: '0.8', cachedInput: '0.08', cacheWrite: '1', output: '4' },
    usage: [5010, 3000, 50, 0], cacheWrite: 2000, expected: 2448n }, // input_tokens 10, read 3000, creation 2000: 10×0.8 + 3000×0.08 + 2000×1 + 50×4 = 8 + 240 + 2000 + 200
  { model: 'claude-opus-4-1', id: 'claude-opus-4-1', usd: { input: '15', cachedInput: '1.5', cacheWrite: '18.75', output: '75' },
    usage: [101001, 100000, 10, 0], cacheWrite: 1000, expected: 169515n }, // input_tokens 1, read 100000, creation 1000: 15 + 150000 + 18750 + 750
  { model: 'claude-3-haiku-20240307', id: 'claude-3-haiku', listedOnly: true,
    usd: { input: '0.25', cachedInput: '0.03', cacheWrite: '0.3', output: '1.25' },
    usage: [1008, 0, 9, 0], cacheWrite: 1001, expected: 314n }, // input_tokens 7, creation 1001: 7×0.25 + 1001×0.3 + 9×1.25 = 1.75 + 300.3 + 11.25 = 313.3 → 314
  { model: 'claude-haiku-4-5', id: 'claude-haiku-4-5', usd: { input: '1', cachedInput: '0.1', cacheWrite: '1.25', output: '5' },
    usage: [4002, 1, 1, 0], cacheWrite: 4000, expected: 5007n }, // input_tokens 1, read 1, creation 4000: 1×1 + 1×0.1 + 4000×1.25 + 1×5 = 5006.1 → 5007
  // Google (thinking tokens are billed as output)
  { model: 'gemini-2.5-pro', id: 'gemini-2.5-pro', usd: { input: '1.25', cachedInput: '0.125', output: '10' },
    usage: [10000, 0, 3000, 2500], expected: 42500n }, // 10000×1.25 + 3000×10 = 12500 + 30000 (base tier, ≤ 200k)
  { model: 'gemini-2.5-flash', id: 'gemini-2.5-flash', usd: { input: '0.3', cachedInput: '0.03', output: '2.5' },
    usage: [4000, 2048, 1000, 0], expected: 3148n }, // 1952×0.3 + 2048×0.03 + 1000×2.5 = 585.6 + 61.44 + 2500 = 3147.04 → 3148
  { model: 'gemini-2.0-flash', id: 'gemini-2.0-flash', usd: { input: '0.1', cachedInput: '0.025', output: '0.4' },
    usage: [100, 0, 100, 0], expected: 50n }, // 100×0.1 + 100×0.4 = 10 + 40
  { model: 'gemini-2.5-flash-lite', id: 'gemini-2.5-flash-lite', usd: { input: '0.1', cachedInput: '0.01', output: '0.4' },
    usage: [1000001, 0, 1, 0], expected: 100001n }, // 1000001×0.1 + 1×0.4 = 100000.1 + 0.4 = 100000.5 → 100001
  // Mistral
  { model: 'mistral-large-latest', id: 'mistral-large', usd: { input: '2', output: '6' },
    usage: [600, 0, 400, 0], expected: 3600n }, // 600×2 + 400×6 = 1200 + 2400
  { model: 'codestral-latest', id: 'codestral', usd: { input: '0.3', output: '0.9' },
    usage: [1111, 0, 222, 0], expected: 534n }, // 1111×0.3 + 222×0.9 = 333.3 + 199.8 = 533.1 → 534
  { model: 'ministral-8b', id: 'ministral-8b', usd: { input: '0.1', output: '0.1' },
    usage: [50, 0, 50, 0], expected: 10n }, // 50×0.1 + 50×0.1 = 5 + 5
  // DeepSeek (deepseek-chat / -reasoner: the daily peak window's price, see README)
  { model: 'deepseek-chat', id: 'deepseek-chat', usd: { input: '0.27', cachedInput: '0.07', output: '1.1' },
    usage: [1000, 600, 500, 0], expected: 700n }, // 400×0.27 + 600×0.07 + 500×1.1 = 108 + 42 + 550
  { model: 'deepseek-reasoner', id: 'deepseek-reasoner', usd: { input: '0.55', cachedInput: '0.14', output: '2.19' },
    usage: [2000, 0, 3000, 2000], expected: 7670n }, // 2000×0.55 + 3000×2.19 = 1100 + 6570
  { model: 'deepseek-v3.2', id: 'deepseek-v3.2', usd: { input: '0.2288', output: '0.3432' },
    usage: [999, 0, 333, 0], expected: 343n }, // 999×0.2288 + 333×0.3432 = 228.5712 + 114.2856 = 342.8568 → 343
  // xAI
  { model: 'grok-4', id: 'grok-4-0709', usd: { input: '3', cachedInput: '0.75', output: '15' },
    usage: [1000, 500, 200, 0], expected: 4875n }, // 500×3 + 500×0.75 + 200×15 = 1500 + 375 + 3000
  { model: 'grok-3-mini', id: 'grok-3-mini', usd: { input: '0.3', cachedInput: '0.075', output: '0.5' },
    usage: [100, 0, 1000, 900], expected: 530n }, // 100×0.3 + 1000×0.5 = 30 + 500
  // Cohere, Moonshot, Voyage, Perplexity, MiniMax
  { model: 'command-r', id: 'command-r', usd: { input: '0.15', output: '0.6' },
    usage: [10000, 0, 1000, 0], expected: 2100n }, // 10000×0.15 + 1000×0.6 = 1500 + 600
  { model: 'command-r-plus', id: 'command-r-plus', usd: { input: '2.5', output: '10' },
    usage: [3, 0, 1, 0], expected: 18n }, // 3×2.5 + 1×10 = 7.5 + 10 = 17.5 → 18
  { model: 'kimi-k2-0905-preview', id: 'kimi-k2-0905-preview', usd: { input: '0.6', cachedInput: '0.15', output: '2.5' },
    usage: [8000, 4000, 1000, 0], expected: 5500n }, // 4000×0.6 + 4000×0.15 + 1000×2.5 = 2400 + 600 + 2500
  { model: 'voyage-3', id: 'voyage-3', usd: { input: '0.06', output: '0' },
    usage: [320, 0, 0, 0], expected: 20n }, // 320×0.06 = 19.2 → 20
  { model: 'sonar', id: 'sonar', usd: { input: '1', output: '1' },
    usage: [500, 0, 500, 0], expected: 1000n }, // 500×1 + 500×1
  { model: 'minimax-m1', id: 'minimax-m1', usd: { input: '0.4', output: '2.2' },
    usage: [1000, 0, 1000, 0], expected: 2600n }, // 1000×0.4 + 1000×2.2 = 400 + 2200
  { model: 'MiniMax-M1', id: 'minimax-m1', listedOnly: true, usd: { input: '0.4', output: '2.2' },
    usage: [1000, 0, 1000, 0], expected: 2600n }, // the API's own casing, listed in `models`
]

const usageOf = (
  [inputTokens, cachedInputTokens, outputTokens, reasoningTokens]: Row['usage'],
  cacheWriteTokens = 0,
): Usage => ({ inputTokens, cachedInputTokens, cacheWriteTokens, outputTokens, reasoningTokens })

describe('catalog price table: golden usage shapes (USDC, 6 decimals)', () => {
  const table = createCatalogPriceTable({ decimals: 6 })
  const listed = createCatalogPriceTable({ decimals: 6, models: rows.map((r) => r.model) })

  it('covers at least 30 shapes across at least 5 providers', () => {
    const providers = new Set(
      rows.map(
        (r) => findCatalogModel({ name: r.model, providers: defaultCatalogProviders })?.provider.id,
      ),
    )
    expect(rows.length).toBeGreaterThanOrEqual(30)
    expect(providers.size).toBeGreaterThanOrEqual(5)
  })

  it.each(rows)('$model $usage → $expected', (row) => {
    // The snapshot still publishes the prices the hand arithmetic used.
    const found = findCatalogModel({ name: row.model, providers: defaultCatalogProviders })
    expect(found?.model.id).toBe(row.id)
    const versions = catalogModelPrices(found!.model)!
    const inForce = versions.filter((v) => v.effectiveFrom <= (row.at ?? AT)).at(-1)!
    expect({ input: inForce.input, output: inForce.output }).toEqual({
      input: row.usd.input,
      output: row.usd.output,
    })
    expect(inForce.cachedInput ?? inForce.input).toBe(row.usd.cachedInput ?? row.usd.input)
    expect(inForce.cacheWrite ?? inForce.input).toBe(row.usd.cacheWrite ?? row.usd.input)

    const usage = usageOf(row.usage, row.cacheWrite)
    const at = row.at ?? AT
    expect(priceUsage(listed, row.model, usage, { at })).toBe(row.expected)
    if (row.listedOnly)
      expect(() => priceUsage(table, row.model, usage, { at })).toThrow(UnknownModelError)
    else expect(priceUsage(table, row.model, usage, { at })).toBe(row.expected)
  })

  it('prices the same shapes at 18 decimals and at another rate exactly', () => {
    const wei = createCatalogPriceTable({ decimals: 18 })
    // 12345×0.15 + 678×0.6 = 2258.55 micro-dollars = 2258.55 × 10^12 wei-units
    expect(priceUsage(wei, 'gpt-4o-mini', usageOf([12345, 0, 678, 0]), { at: AT })).toBe(
      2_258_550_000_000_000n,
    )
    // 999×0.2288 + 333×0.3432 = 342.8568 micro-dollars
    expect(priceUsage(wei, 'deepseek-v3.2', usageOf([999, 0, 333, 0]), { at: AT })).toBe(
      342_856_800_000_000n,
    )
    // 0.92 tokens per dollar: 2.3 / 1.15 / 9.2 per 1M → 200×2.3 + 1000×1.15 + 300×9.2 = 460 + 1150 + 2760
    const eurc = createCatalogPriceTable({ decimals: 6, usdRate: '0.92' })
    expect(priceUsage(eurc, 'gpt-4o', usageOf([1200, 1000, 300, 0]), { at: AT })).toBe(4370n)
  })
})
