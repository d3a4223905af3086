import { describe, expect, test } from 'vitest'
import { createPriceTable } from './createPriceTable.js'
import { InvalidUsageError } from './errors.js'
import { priceCall } from './priceCall.js'
import type { Usage } from './types.js'

const prices = createPriceTable({
  models: {
    // 1 base unit per input token, 4 per output token.
    'gpt-4o-mini': { input: 1_000_000n, output: 4_000_000n },
    'gpt-4o': { input: 2_000_000n, output: 8_000_000n },
  },
})
const usage: Usage = {
  inputTokens: 100,
  cachedInputTokens: 0,
  outputTokens: 10,
  reasoningTokens: 0,
}
const at = 1_760_000_000

describe('priceCall', () => {
  test('the reported model is priced first', () => {
    expect(
      priceCall({ prices, model: 'gpt-4o-2024-08-06', requestedModel: 'gpt-4o-mini', usage, at }),
    ).toEqual({ amount: 280n, capped: false, pricedAs: 'gpt-4o-2024-08-06' })
  })

  test('an unpriced reported model falls back to the requested model', () => {
    expect(
      priceCall({ prices, model: 'mystery-model', requestedModel: 'gpt-4o-mini', usage, at }),
    ).toEqual({ amount: 140n, capped: false, pricedAs: 'gpt-4o-mini' })
    expect(
      priceCall({ prices, model: undefined, requestedModel: 'gpt-4o-mini', usage, at }),
    ).toEqual({ amount: 140n, capped: false, pricedAs: 'gpt-4o-mini' })
  })

  test('unknown-model policy: neither priced costs 0, with no name', () => {
    expect(priceCall({ prices, model: 'a', requestedModel: 'b', usage, at })).toEqual({
      amount: 0n,
      capped: false,
      pricedAs: undefined,
    })
    expect(priceCall({ prices, model: '', requestedModel: undefined, usage, at }).pricedAs).toBe(
      undefined,
    )
  })

  test('capped at maxAmount, never above it', () => {
    expect(
      priceCall({
        prices,
        model: 'gpt-4o-mini',
        requestedModel: undefined,
        usage,
        at,
        maxAmount: 139n,
      }),
    ).toEqual({ amount: 139n, capped: true, pricedAs: 'gpt-4o-mini' })
    expect(
      priceCall({
        prices,
        model: 'gpt-4o-mini',
        requestedModel: undefined,
        usage,
        at,
        maxAmount: 140n,
      }),
    ).toEqual({ amount: 140n, capped: false, pricedAs: 'gpt-4o-mini' })
    expect(
      priceCall({
        prices,
        model: 'gpt-4o-mini',
        requestedModel: undefined,
        usage,
        at,
        maxAmount: 0n,
      }),
    ).toEqual({ amount: 0n, capped: true, pricedAs: 'gpt-4o-mini' })
  })

  test('the version in force at `at` applies', () => {
    const versioned = createPriceTable({
      models: {
        m: [
          { effectiveFrom: 0, input: 1_000_000n, output: 0n },
          { effectiveFrom: at, input: 3_000_000n, output: 0n },
        ],
      },
    })
    const call = { prices: versioned, model: 'm', requestedModel: undefined, usage }
    expect(priceCall({ ...call, at: at - 1 }).amount).toBe(100n)
    expect(priceCall({ ...call, at }).amount).toBe(300n)
  })

  test('a malformed usage is thrown, not priced as unknown', () => {
    expect(() =>
      priceCall({
        prices,
        model: 'gpt-4o-mini',
        requestedModel: undefined,
        usage: { ...usage, cachedInputTokens: 101 },
        at,
      }),
    ).toThrow(InvalidUsageError)
  })
})
