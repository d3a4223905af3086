import { createPriceTable, resolveModelPrice } from '@rma/core'
import { describe, expect, test } from 'vitest'
import { MeterError } from './errors.js'
import { worstCasePrice } from './worstCasePrice.js'

const price = resolveModelPrice(
  createPriceTable({
    models: { claude: { input: 3_000_000n, cachedInput: 300_000n, output: 15_000_000n } },
  }),
  'claude',
  0,
)

describe('worstCasePrice: Anthropic Messages', () => {
  test('every body byte at the input price plus max_tokens at the output price', () => {
    const body = { model: 'claude', max_tokens: 1000, messages: [] }
    expect(
      worstCasePrice({
        endpoint: 'messages',
        body,
        bodyBytes: 200,
        price,
        defaultMaxOutputTokens: 16_384,
      }),
    ).toEqual({ amount: 200n * 3n + 1000n * 15n, inputTokens: 200, outputTokens: 1000 })
  })

  test('max_tokens is required: the meter default does not apply', () => {
    let thrown: unknown
    try {
      worstCasePrice({
        endpoint: 'messages',
        body: { model: 'claude', messages: [] },
        bodyBytes: 10,
        price,
        defaultMaxOutputTokens: 16_384,
      })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(MeterError)
    expect((thrown as MeterError).code).toBe('rma_max_tokens_required')
    expect((thrown as MeterError).message).toContain('Set max_tokens:')
  })

  test('`n` does not multiply a Messages call (the API has no choices)', () => {
    expect(
      worstCasePrice({
        endpoint: 'messages',
        body: { model: 'claude', max_tokens: 10, n: 4 },
        bodyBytes: 0,
        price,
        defaultMaxOutputTokens: undefined,
      }).outputTokens,
    ).toBe(10)
  })
})
