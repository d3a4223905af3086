import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { InvalidUsageError } from './errors.js'
import { parseOpenAIUsage } from './parseOpenAIUsage.js'
import { thrown } from './testing/thrown.js'

function expectInvalidUsage(usage: unknown, message: string) {
  const error = thrown(() => parseOpenAIUsage(usage))
  expect(error).toBeInstanceOf(InvalidUsageError)
  expect(error).toMatchObject({ name: 'InvalidUsageError', code: 'INVALID_USAGE', message })
}

describe('parseOpenAIUsage shapes', () => {
  test('Chat Completions with cached and reasoning details: counts are not added twice', () => {
    expect(
      parseOpenAIUsage({
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
      }),
    ).toEqual({
      inputTokens: 1200,
      cachedInputTokens: 1024,
      outputTokens: 300,
      reasoningTokens: 192,
    })
  })

  test('Responses API response.usage', () => {
    expect(
      parseOpenAIUsage({
        input_tokens: 5000,
        input_tokens_details: { cached_tokens: 4096 },
        output_tokens: 1500,
        output_tokens_details: { reasoning_tokens: 1024 },
        total_tokens: 6500,
      }),
    ).toEqual({
      inputTokens: 5000,
      cachedInputTokens: 4096,
      outputTokens: 1500,
      reasoningTokens: 1024,
    })
  })

  test('Embeddings usage has no output', () => {
    expect(parseOpenAIUsage({ prompt_tokens: 8, total_tokens: 8 })).toEqual({
      inputTokens: 8,
      cachedInputTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
    })
  })

  test('legacy Completions usage', () => {
    expect(parseOpenAIUsage({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 })).toEqual({
      inputTokens: 5,
      cachedInputTokens: 0,
      outputTokens: 7,
      reasoningTokens: 0,
    })
  })

  test('null or missing details (OpenAI-compatible servers) count as zero', () => {
    expect(
      parseOpenAIUsage({
        prompt_tokens: 10,
        completion_tokens: null,
        prompt_tokens_details: null,
        completion_tokens_details: { reasoning_tokens: null },
      }),
    ).toEqual({ inputTokens: 10, cachedInputTokens: 0, outputTokens: 0, reasoningTokens: 0 })
  })

  test('Responses fields win over chat fields only when input_tokens is present', () => {
    expect(parseOpenAIUsage({ input_tokens: 3, output_tokens: 4, prompt_tokens: 100 })).toEqual({
      inputTokens: 3,
      cachedInputTokens: 0,
      outputTokens: 4,
      reasoningTokens: 0,
    })
  })

  test('round-trips any consistent usage in both shapes', () => {
    const n = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
    fc.assert(
      fc.property(n, n, n, n, (a, b, c, d) => {
        const [input, cached] = a >= b ? [a, b] : [b, a]
        const [output, reasoning] = c >= d ? [c, d] : [d, c]
        const expected = {
          inputTokens: input,
          cachedInputTokens: cached,
          outputTokens: output,
          reasoningTokens: reasoning,
        }
        expect(
          parseOpenAIUsage({
            prompt_tokens: input,
            completion_tokens: output,
            prompt_tokens_details: { cached_tokens: cached },
            completion_tokens_details: { reasoning_tokens: reasoning },
          }),
        ).toEqual(expected)
        expect(
          parseOpenAIUsage({
            input_tokens: input,
            output_tokens: output,
            input_tokens_details: { cached_tokens: cached },
            output_tokens_details: { reasoning_tokens: reasoning },
          }),
        ).toEqual(expected)
      }),
      { numRuns: 1000 },
    )
  })
})

describe('parseOpenAIUsage invalid input', () => {
  test('not an object', () => {
    expectInvalidUsage(null, 'Usage must be an object.\n\nDetails: Received null.')
    expectInvalidUsage(undefined, 'Usage must be an object.\n\nDetails: Received undefined.')
    expectInvalidUsage(
      '{"prompt_tokens":1}',
      'Usage must be an object.\n\nDetails: Received string.',
    )
    expectInvalidUsage(12, 'Usage must be an object.\n\nDetails: Received number.')
  })

  test('no input token count', () => {
    expectInvalidUsage({}, 'Usage has no "prompt_tokens".')
    expectInvalidUsage({ completion_tokens: 5 }, 'Usage has no "prompt_tokens".')
    expectInvalidUsage({ input_tokens: null, output_tokens: 5 }, 'Usage has no "input_tokens".')
  })

  test('cached tokens above input tokens', () => {
    expectInvalidUsage(
      { prompt_tokens: 10, prompt_tokens_details: { cached_tokens: 11 } },
      'Cached input tokens exceed input tokens.',
    )
    expectInvalidUsage(
      { input_tokens: 10, input_tokens_details: { cached_tokens: 11 }, output_tokens: 0 },
      'Cached input tokens exceed input tokens.',
    )
  })

  test('reasoning tokens above output tokens', () => {
    expectInvalidUsage(
      {
        prompt_tokens: 1,
        completion_tokens: 5,
        completion_tokens_details: { reasoning_tokens: 6 },
      },
      'Reasoning tokens exceed output tokens.',
    )
    expectInvalidUsage(
      { input_tokens: 1, output_tokens: 5, output_tokens_details: { reasoning_tokens: 6 } },
      'Reasoning tokens exceed output tokens.',
    )
  })

  test('negative, fractional, unsafe or non-number counts', () => {
    expectInvalidUsage(
      { prompt_tokens: -1 },
      'Usage "prompt_tokens" must be a non-negative integer.\n\nDetails: Received -1.',
    )
    expectInvalidUsage(
      { prompt_tokens: 1, completion_tokens: 1.5 },
      'Usage "completion_tokens" must be a non-negative integer.\n\nDetails: Received 1.5.',
    )
    expectInvalidUsage(
      { prompt_tokens: '12' },
      'Usage "prompt_tokens" must be a non-negative integer.\n\nDetails: Received 12.',
    )
    expectInvalidUsage(
      { prompt_tokens: 2 ** 53 },
      'Usage "prompt_tokens" must be a non-negative integer.\n\nDetails: Received 9007199254740992.',
    )
    expectInvalidUsage(
      { prompt_tokens: 10, prompt_tokens_details: { cached_tokens: -2 } },
      'Usage "cached_tokens" must be a non-negative integer.\n\nDetails: Received -2.',
    )
    expectInvalidUsage(
      {
        input_tokens: 10,
        output_tokens: 10,
        output_tokens_details: { reasoning_tokens: Number.NaN },
      },
      'Usage "reasoning_tokens" must be a non-negative integer.\n\nDetails: Received NaN.',
    )
  })

  test('values that cannot be converted to a string still give InvalidUsageError', () => {
    expectInvalidUsage(
      JSON.parse('{"prompt_tokens":{"toString":1}}'),
      'Usage "prompt_tokens" must be a non-negative integer.\n\nDetails: Received object.',
    )
    expectInvalidUsage(
      { input_tokens: Object.create(null) },
      'Usage "input_tokens" must be a non-negative integer.\n\nDetails: Received object.',
    )
  })

  test('any malformed value throws InvalidUsageError and nothing else', () => {
    const field = fc.oneof(fc.integer({ min: -5, max: 50 }), fc.anything())
    const details = fc.oneof(
      fc.record({ cached_tokens: field, reasoning_tokens: field }, { requiredKeys: [] }),
      fc.anything(),
    )
    const usageLike = fc.oneof(
      fc.anything(),
      fc.record(
        {
          prompt_tokens: field,
          completion_tokens: field,
          input_tokens: field,
          output_tokens: field,
          prompt_tokens_details: details,
          completion_tokens_details: details,
          input_tokens_details: details,
          output_tokens_details: details,
        },
        { requiredKeys: [] },
      ),
    )
    fc.assert(
      fc.property(usageLike, (value) => {
        try {
          const u = parseOpenAIUsage(value)
          expect(u.cachedInputTokens).toBeLessThanOrEqual(u.inputTokens)
          expect(u.reasoningTokens).toBeLessThanOrEqual(u.outputTokens)
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidUsageError)
        }
      }),
      { numRuns: 1000 },
    )
  })
})
