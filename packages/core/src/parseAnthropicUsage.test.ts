import { describe, expect, test } from 'vitest'
import { InvalidUsageError } from './errors.js'
import { parseAnthropicUsage } from './parseAnthropicUsage.js'
import { parseOpenAIUsage } from './parseOpenAIUsage.js'

describe('parseAnthropicUsage', () => {
  test('no cache: input and output as reported', () => {
    expect(parseAnthropicUsage({ input_tokens: 25, output_tokens: 15 })).toEqual({
      inputTokens: 25,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 15,
      reasoningTokens: 0,
    })
  })

  test('cache reads and writes are BESIDE input_tokens: added into the OpenAI input count', () => {
    // A Messages response of a prompt with a cache breakpoint, as Anthropic returns it.
    const usage = {
      input_tokens: 21,
      cache_creation_input_tokens: 188086,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 188086, ephemeral_1h_input_tokens: 0 },
      output_tokens: 393,
      service_tier: 'standard',
    }
    expect(parseAnthropicUsage(usage)).toEqual({
      inputTokens: 188107,
      cachedInputTokens: 0,
      cacheWriteTokens: 188086,
      outputTokens: 393,
      reasoningTokens: 0,
    })
    // The next call reads the cache it wrote.
    expect(
      parseAnthropicUsage({
        input_tokens: 21,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 188086,
        output_tokens: 393,
      }),
    ).toEqual({
      inputTokens: 188107,
      cachedInputTokens: 188086,
      cacheWriteTokens: 0,
      outputTokens: 393,
      reasoningTokens: 0,
    })
  })

  test('reads and writes together keep cached + cacheWrite ≤ input', () => {
    const usage = parseAnthropicUsage({
      input_tokens: 3,
      cache_creation_input_tokens: 100,
      cache_read_input_tokens: 2000,
      output_tokens: 1,
    })
    expect(usage.inputTokens).toBe(2103)
    expect(usage.cachedInputTokens + usage.cacheWriteTokens).toBeLessThanOrEqual(usage.inputTokens)
  })

  test('the OpenAI reader would under-count the same object (why the endpoint picks the reader)', () => {
    const usage = { input_tokens: 21, cache_read_input_tokens: 188086, output_tokens: 393 }
    expect(parseOpenAIUsage(usage).inputTokens).toBe(21)
    expect(parseAnthropicUsage(usage).inputTokens).toBe(188107)
  })

  test('null cache counts and a missing output count read as 0', () => {
    expect(
      parseAnthropicUsage({
        input_tokens: 7,
        cache_creation_input_tokens: null,
        cache_read_input_tokens: null,
      }),
    ).toEqual({
      inputTokens: 7,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
    })
  })

  test.each([
    [null, 'Usage must be an object.'],
    [[1], 'Usage must be an object.'],
    ['12', 'Usage must be an object.'],
    [{ output_tokens: 1 }, 'Usage has no "input_tokens".'],
    [{ input_tokens: -1 }, 'Usage "input_tokens" must be a non-negative integer.'],
    [{ input_tokens: 1.5 }, 'Usage "input_tokens" must be a non-negative integer.'],
    [{ input_tokens: '3' }, 'Usage "input_tokens" must be a non-negative integer.'],
    [
      { input_tokens: 1, cache_read_input_tokens: -2 },
      'Usage "cache_read_input_tokens" must be a non-negative integer.',
    ],
    [
      { input_tokens: 1, output_tokens: 2 ** 53 },
      'Usage "output_tokens" must be a non-negative integer.',
    ],
    [
      { input_tokens: Number.MAX_SAFE_INTEGER, cache_creation_input_tokens: 1 },
      'Usage input tokens exceed the safe integer range.',
    ],
  ])('%j is refused: %s', (usage, message) => {
    let thrown: unknown
    try {
      parseAnthropicUsage(usage)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(InvalidUsageError)
    expect((thrown as InvalidUsageError).shortMessage).toBe(message)
    expect((thrown as InvalidUsageError).code).toBe('INVALID_USAGE')
  })
})
