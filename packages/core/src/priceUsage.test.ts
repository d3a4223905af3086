import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { createPriceTable } from './createPriceTable.js'
import { InvalidUsageError, UnknownModelError } from './errors.js'
import { parseOpenAIUsage } from './parseOpenAIUsage.js'
import { priceUsage, resolveModelPrice } from './priceUsage.js'
import { thrown } from './testing/thrown.js'
import type { Usage } from './types.js'

function expectUnknownModel(fn: () => unknown, model: string) {
  const error = thrown(fn)
  expect(error).toBeInstanceOf(UnknownModelError)
  expect(error).toMatchObject({
    name: 'UnknownModelError',
    code: 'UNKNOWN_MODEL',
    model,
    message: `Model "${model}" has no price.\n\nDetails: Add the model (or an alias to a priced model) to the price table.`,
  })
}

function expectInvalidUsage(fn: () => unknown, message: string) {
  const error = thrown(fn)
  expect(error).toBeInstanceOf(InvalidUsageError)
  expect(error).toMatchObject({ name: 'InvalidUsageError', code: 'INVALID_USAGE', message })
}

const usage = (
  inputTokens: number,
  cachedInputTokens: number,
  outputTokens: number,
  reasoningTokens: number,
): Usage => ({
  inputTokens,
  cachedInputTokens,
  outputTokens,
  reasoningTokens,
})

// Prices in USDC base units (6 decimals) per 1,000,000 tokens, e.g. 2_500_000n = $2.50 / 1M.
const table = createPriceTable({
  models: {
    'gpt-4o': { input: 2_500_000n, cachedInput: 1_250_000n, output: 10_000_000n },
    'o4-mini': { input: 1_100_000n, cachedInput: 275_000n, output: 4_400_000n },
    reasoner: { input: 1_000_000n, output: 2_000_000n, reasoning: 8_000_000n },
    'text-embedding-3-small': { input: 20_000n, output: 0n },
    'gpt-3.5-turbo-instruct': { input: 1_500_000n, output: 2_000_000n },
    'gpt-4': { input: 30_000_000n, output: 60_000_000n },
    unit: { input: 2_500_000n, output: 2_000_000n },
  },
  aliases: { 'my-finetune': 'gpt-4o' },
})
const at = 1_760_000_000

describe('priceUsage of OpenAI usage objects', () => {
  test('Chat Completions: cached tokens priced once inside input, reasoning once inside output', () => {
    const completionUsage = {
      prompt_tokens: 1200,
      completion_tokens: 300,
      total_tokens: 1500,
      prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 192,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    }
    // (1200 − 1024) × 2.5 + 1024 × 1.25 + (300 − 192) × 10 + 192 × 10 = 440 + 1280 + 1080 + 1920
    expect(priceUsage(table, 'gpt-4o', parseOpenAIUsage(completionUsage), { at })).toBe(4720n)
    // (counting cached and reasoning on top of input and output would give 3000 + 1280 + 3000 + 1920 = 9200)
  })

  test('Chat Completions on a model with its own reasoning price', () => {
    const completionUsage = {
      prompt_tokens: 100,
      completion_tokens: 50,
      total_tokens: 150,
      completion_tokens_details: { reasoning_tokens: 20 },
    }
    // 100 × 1 + (50 − 20) × 2 + 20 × 8 = 100 + 60 + 160
    expect(priceUsage(table, 'reasoner', parseOpenAIUsage(completionUsage), { at })).toBe(320n)
  })

  test('Responses API response.usage', () => {
    const responseUsage = {
      input_tokens: 5000,
      input_tokens_details: { cached_tokens: 4096 },
      output_tokens: 1500,
      output_tokens_details: { reasoning_tokens: 1024 },
      total_tokens: 6500,
    }
    // (5000 − 4096) × 1.1 + 4096 × 0.275 + (1500 − 1024) × 4.4 + 1024 × 4.4
    // = 994.4 + 1126.4 + 2094.4 + 4505.6 = 8720.8 → rounded up to 8721
    expect(priceUsage(table, 'o4-mini', parseOpenAIUsage(responseUsage), { at })).toBe(8721n)
  })

  test('Embeddings usage: input only', () => {
    // 1234 × 0.02 = 24.68 → 25
    expect(
      priceUsage(
        table,
        'text-embedding-3-small',
        parseOpenAIUsage({ prompt_tokens: 1234, total_tokens: 1234 }),
        {
          at,
        },
      ),
    ).toBe(25n)
  })

  test('legacy Completions usage', () => {
    // 5 × 1.5 + 7 × 2 = 21.5 → 22
    const legacy = { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 }
    expect(priceUsage(table, 'gpt-3.5-turbo-instruct', parseOpenAIUsage(legacy), { at })).toBe(22n)
  })
})

describe('prompt-cache writes (cacheWriteTokens)', () => {
  // Anthropic-style prices: writes at 1.25 × input, reads at 0.1 × input (USDC per 1M tokens)
  const claude = createPriceTable({
    models: {
      'claude-sonnet-4': {
        input: 3_000_000n,
        cachedInput: 300_000n,
        cacheWrite: 3_750_000n,
        output: 15_000_000n,
      },
      plain: { input: 3_000_000n, cachedInput: 300_000n, output: 15_000_000n },
    },
  })

  test('cache writes are priced once inside input, at their own price', () => {
    // input 10_000 of which 2_000 read from cache and 6_000 written to it, 500 output:
    // (10_000 − 2_000 − 6_000) × 3 + 2_000 × 0.3 + 6_000 × 3.75 + 500 × 15
    // = 6_000 + 600 + 22_500 + 7_500 = 36_600
    const call = { ...usage(10_000, 2_000, 500, 0), cacheWriteTokens: 6_000 }
    expect(priceUsage(claude, 'claude-sonnet-4', call, { at })).toBe(36_600n)
    // counting the writes on top of input would give 30_000 − 6_000 + 22_500 + ... : more
  })

  test('a model without a cacheWrite price charges writes at its input price', () => {
    const call = { ...usage(10_000, 2_000, 500, 0), cacheWriteTokens: 6_000 }
    expect(priceUsage(claude, 'plain', call, { at })).toBe(
      priceUsage(claude, 'plain', usage(10_000, 2_000, 500, 0), { at }),
    )
  })

  test('absent cacheWriteTokens count as 0', () => {
    const call = usage(10_000, 2_000, 500, 0)
    expect(priceUsage(claude, 'claude-sonnet-4', call, { at })).toBe(
      priceUsage(claude, 'claude-sonnet-4', { ...call, cacheWriteTokens: 0 }, { at }),
    )
  })

  test('cache reads plus writes above input tokens are refused', () => {
    expectInvalidUsage(
      () =>
        priceUsage(
          claude,
          'claude-sonnet-4',
          { ...usage(10, 4, 0, 0), cacheWriteTokens: 7 },
          { at },
        ),
      'Cached and cache-write tokens exceed input tokens.\n\nDetails: Cache reads and cache writes are disjoint parts of input tokens.',
    )
    // exactly equal is fine: every input token is a cache read or write
    expect(
      priceUsage(claude, 'claude-sonnet-4', { ...usage(10, 4, 0, 0), cacheWriteTokens: 6 }, { at }),
    ).toBe(24n) // 4 × 0.3 + 6 × 3.75 = 23.7 → 24
  })

  test('a malformed cacheWriteTokens is refused', () => {
    for (const bad of [-1, 0.5, 2 ** 53, '3' as unknown as number, null as unknown as number])
      expectInvalidUsage(
        () => priceUsage(claude, 'plain', { ...usage(10, 0, 0, 0), cacheWriteTokens: bad }, { at }),
        `Usage field "cacheWriteTokens" must be a non-negative integer.\n\nDetails: Received ${String(bad)}.`,
      )
  })
})

describe('priceUsage rounding', () => {
  test('a call priced 2.5 units costs 3; exact multiples are exact', () => {
    expect(priceUsage(table, 'unit', usage(1, 0, 0, 0), { at })).toBe(3n) // 2.5
    expect(priceUsage(table, 'unit', usage(2, 0, 0, 0), { at })).toBe(5n) // 5 exactly
    expect(priceUsage(table, 'unit', usage(0, 0, 3, 0), { at })).toBe(6n) // 6 exactly
    expect(priceUsage(table, 'unit', usage(1, 0, 1, 1), { at })).toBe(5n) // 2.5 + 2 = 4.5
  })

  test('the smallest positive price costs one unit, and no tokens cost nothing', () => {
    expect(priceUsage(table, 'text-embedding-3-small', usage(1, 0, 0, 0), { at })).toBe(1n) // 0.02
    expect(priceUsage(table, 'gpt-4o', usage(0, 0, 0, 0), { at })).toBe(0n)
  })

  test('the four products are summed before rounding, not rounded one by one', () => {
    // 1 × 2.5 + 1 × 1.25 (cached) + 1 × 10 = 13.75 → 14 (rounding each would give 3 + 2 + 10 = 15)
    expect(priceUsage(table, 'gpt-4o', usage(2, 1, 1, 0), { at })).toBe(14n)
  })

  test('large token counts stay exact', () => {
    const max = Number.MAX_SAFE_INTEGER
    // (2^53 − 1) × 60_000_000 / 1_000_000 = (2^53 − 1) × 60
    expect(priceUsage(table, 'gpt-4', usage(0, 0, max, 0), { at })).toBe(BigInt(max) * 60n)
  })
})

describe('model resolution', () => {
  test('snapshot names are priced as their base model', () => {
    const call = usage(1000, 0, 1000, 0)
    expect(priceUsage(table, 'gpt-4o-2024-08-06', call, { at })).toBe(
      priceUsage(table, 'gpt-4o', call, { at }),
    )
    expect(priceUsage(table, 'gpt-4o-2024-08-06', call, { at })).toBe(12_500n)
    expect(priceUsage(table, 'gpt-4-0613', call, { at })).toBe(
      priceUsage(table, 'gpt-4', call, { at }),
    )
    expect(priceUsage(table, 'gpt-4-0613', call, { at })).toBe(90_000n)
  })

  test('a snapshot of an unpriced model is not priced as a shorter priced name', () => {
    expectUnknownModel(
      () => priceUsage(table, 'gpt-4o-mini-2024-07-18', usage(1, 0, 1, 0), { at }),
      'gpt-4o-mini-2024-07-18',
    )
    expectUnknownModel(
      () => priceUsage(table, 'gpt-4o-mini', usage(1, 0, 1, 0), { at }),
      'gpt-4o-mini',
    )
  })

  test('an exact snapshot price wins over its base model', () => {
    const snapshots = createPriceTable({
      models: {
        'gpt-4o': { input: 2_500_000n, output: 10_000_000n },
        'gpt-4o-2024-05-13': { input: 5_000_000n, output: 15_000_000n },
      },
    })
    expect(resolveModelPrice(snapshots, 'gpt-4o-2024-05-13', at).input).toBe(5_000_000n)
    expect(resolveModelPrice(snapshots, 'gpt-4o-2024-08-06', at).input).toBe(2_500_000n)
  })

  test('explicit aliases, also with a snapshot suffix', () => {
    const call = usage(1000, 0, 1000, 0)
    expect(priceUsage(table, 'my-finetune', call, { at })).toBe(12_500n)
    expect(priceUsage(table, 'my-finetune-2025-01-01', call, { at })).toBe(12_500n)
  })

  test('an unknown model throws UnknownModelError', () => {
    expectUnknownModel(
      () => priceUsage(table, 'claude-3-opus', usage(1, 0, 1, 0), { at }),
      'claude-3-opus',
    )
    expectUnknownModel(() => priceUsage(table, '', usage(1, 0, 1, 0), { at }), '')
    expectUnknownModel(() => resolveModelPrice(table, 'GPT-4O', at), 'GPT-4O')
  })

  test('the price version in force at `at` applies', () => {
    const versioned = createPriceTable({
      models: {
        'gpt-4o': [
          { effectiveFrom: 2000, input: 2_000_000n, output: 8_000_000n },
          { effectiveFrom: 1000, input: 5_000_000n, output: 15_000_000n },
        ],
      },
      aliases: { mine: 'gpt-4o' },
    })
    const call = usage(1_000_000, 0, 1_000_000, 0)
    expect(priceUsage(versioned, 'gpt-4o', call, { at: 1000 })).toBe(20_000_000n)
    expect(priceUsage(versioned, 'gpt-4o', call, { at: 1999 })).toBe(20_000_000n)
    expect(priceUsage(versioned, 'gpt-4o', call, { at: 2000 })).toBe(10_000_000n)
    expect(priceUsage(versioned, 'gpt-4o-2024-08-06', call, { at: 1500 })).toBe(20_000_000n)
    expect(priceUsage(versioned, 'mine', call, { at: 2500 })).toBe(10_000_000n)
    // without `at`, the price in force now
    expect(priceUsage(versioned, 'gpt-4o', call)).toBe(10_000_000n)
  })

  test('before the first version, the model has no price', () => {
    const versioned = createPriceTable({
      models: { 'gpt-4o': [{ effectiveFrom: 1000, input: 1n, output: 1n }] },
    })
    expectUnknownModel(
      () => priceUsage(versioned, 'gpt-4o', usage(1, 0, 1, 0), { at: 999 }),
      'gpt-4o',
    )
    expectUnknownModel(
      () => resolveModelPrice(versioned, 'gpt-4o-2024-08-06', 0),
      'gpt-4o-2024-08-06',
    )
  })
})

describe('priceUsage invalid usage', () => {
  test('cached tokens above input tokens', () => {
    expectInvalidUsage(
      () => priceUsage(table, 'gpt-4o', usage(10, 11, 0, 0), { at }),
      'Cached input tokens exceed input tokens.\n\nDetails: Cached tokens are part of input tokens.',
    )
  })

  test('reasoning tokens above output tokens', () => {
    expectInvalidUsage(
      () => priceUsage(table, 'gpt-4o', usage(0, 0, 10, 11), { at }),
      'Reasoning tokens exceed output tokens.\n\nDetails: Reasoning tokens are part of output tokens.',
    )
  })

  test('negative, fractional, unsafe or non-number counts', () => {
    expectInvalidUsage(
      () => priceUsage(table, 'gpt-4o', usage(-1, 0, 0, 0), { at }),
      'Usage field "inputTokens" must be a non-negative integer.\n\nDetails: Received -1.',
    )
    expectInvalidUsage(
      () => priceUsage(table, 'gpt-4o', usage(1, 0.5, 0, 0), { at }),
      'Usage field "cachedInputTokens" must be a non-negative integer.\n\nDetails: Received 0.5.',
    )
    expectInvalidUsage(
      () => priceUsage(table, 'gpt-4o', usage(0, 0, 2 ** 53, 0), { at }),
      'Usage field "outputTokens" must be a non-negative integer.\n\nDetails: Received 9007199254740992.',
    )
    expectInvalidUsage(
      () =>
        priceUsage(
          table,
          'gpt-4o',
          { ...usage(0, 0, 5, 0), reasoningTokens: '1' as unknown as number },
          { at },
        ),
      'Usage field "reasoningTokens" must be a non-negative integer.\n\nDetails: Received 1.',
    )
    expectInvalidUsage(
      () => priceUsage(table, 'gpt-4o', { inputTokens: 1 } as Usage, { at }),
      'Usage field "cachedInputTokens" must be a non-negative integer.\n\nDetails: Received undefined.',
    )
  })

  test('a usage that is not an object', () => {
    expectInvalidUsage(
      () => priceUsage(table, 'gpt-4o', null as unknown as Usage, { at }),
      'Usage must be an object.\n\nDetails: Received null.',
    )
    expectInvalidUsage(
      () => priceUsage(table, 'gpt-4o', 42 as unknown as Usage, { at }),
      'Usage must be an object.\n\nDetails: Received number.',
    )
  })
})

describe('priceUsage properties', () => {
  const price = fc.bigInt({ min: 0n, max: 100_000_000_000n })
  const priceTable = fc
    .record({
      input: price,
      cachedInput: price,
      cacheWrite: price,
      output: price,
      reasoning: price,
    })
    .map((p) => ({ p, table: createPriceTable({ models: { m: p } }) }))
  const tokens = fc.integer({ min: 0, max: 1_000_000_000 })
  const usageArbitrary = fc.tuple(tokens, tokens, tokens, tokens, tokens).map(([a, b, c, d, w]) => {
    const u = usage(Math.max(a, b), Math.min(a, b), Math.max(c, d), Math.min(c, d))
    return { ...u, cacheWriteTokens: w % (u.inputTokens - u.cachedInputTokens + 1) }
  })

  test('equals ceil(exact / 1e6) of the five products', () => {
    fc.assert(
      fc.property(priceTable, usageArbitrary, ({ p, table }, u) => {
        const exact =
          BigInt(u.inputTokens - u.cachedInputTokens - u.cacheWriteTokens) * p.input +
          BigInt(u.cachedInputTokens) * p.cachedInput +
          BigInt(u.cacheWriteTokens) * p.cacheWrite +
          BigInt(u.outputTokens - u.reasoningTokens) * p.output +
          BigInt(u.reasoningTokens) * p.reasoning
        const charged = priceUsage(table, 'm', u, { at })
        // ceil: charged is the least integer with charged × 1e6 >= exact
        expect(charged * 1_000_000n >= exact).toBe(true)
        expect((charged - 1n) * 1_000_000n < exact || charged === 0n).toBe(true)
        if (exact === 0n) expect(charged).toBe(0n)
      }),
      { numRuns: 1000 },
    )
  })

  test('is monotone non-decreasing in each token count', () => {
    const more = fc.integer({ min: 0, max: 1_000_000 })
    fc.assert(
      fc.property(priceTable, usageArbitrary, more, ({ table }, u, k) => {
        const base = priceUsage(table, 'm', u, { at })
        const grown = [
          { ...u, inputTokens: u.inputTokens + k }, // uncached input
          { ...u, inputTokens: u.inputTokens + k, cachedInputTokens: u.cachedInputTokens + k }, // cached input
          { ...u, inputTokens: u.inputTokens + k, cacheWriteTokens: u.cacheWriteTokens + k }, // cache write
          { ...u, outputTokens: u.outputTokens + k }, // plain output
          { ...u, outputTokens: u.outputTokens + k, reasoningTokens: u.reasoningTokens + k }, // reasoning
        ]
        for (const g of grown) expect(priceUsage(table, 'm', g, { at }) >= base).toBe(true)
      }),
      { numRuns: 1000 },
    )
  })
})
