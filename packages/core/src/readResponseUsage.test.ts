import { describe, expect, test } from 'vitest'
import { BaseError, InvalidUsageError } from './errors.js'
import { readResponseUsage } from './readResponseUsage.js'
import {
  anthropicCachedMessage,
  anthropicCachedUsage,
  anthropicModel,
} from './testing/anthropicStreams.js'

const chatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'Hi', refusal: null },
      logprobs: null,
      finish_reason: 'stop',
    },
  ],
  usage: {
    prompt_tokens: 1200,
    completion_tokens: 300,
    total_tokens: 1500,
    prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 192, audio_tokens: 0 },
  },
}

const response = {
  id: 'resp_1',
  object: 'response',
  created_at: 1,
  status: 'completed',
  model: 'o4-mini-2025-04-16',
  output: [],
  usage: {
    input_tokens: 5000,
    input_tokens_details: { cached_tokens: 4096 },
    output_tokens: 1500,
    output_tokens_details: { reasoning_tokens: 1024 },
    total_tokens: 6500,
  },
}

describe('readResponseUsage', () => {
  test('Chat Completions', () => {
    expect(readResponseUsage('chat', chatCompletion)).toEqual({
      usage: {
        inputTokens: 1200,
        cachedInputTokens: 1024,
        outputTokens: 300,
        reasoningTokens: 192,
      },
      model: 'gpt-4o-mini-2024-07-18',
      error: undefined,
    })
  })

  test('legacy Completions', () => {
    const body = {
      object: 'text_completion',
      model: 'gpt-3.5-turbo-instruct',
      choices: [{ text: 'Hi', index: 0, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
    }
    expect(readResponseUsage('completions', body)).toEqual({
      usage: { inputTokens: 5, cachedInputTokens: 0, outputTokens: 7, reasoningTokens: 0 },
      model: 'gpt-3.5-turbo-instruct',
      error: undefined,
    })
  })

  test('Embeddings have input tokens only', () => {
    const body = {
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.1] }],
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 8, total_tokens: 8 },
    }
    expect(readResponseUsage('embeddings', body)).toEqual({
      usage: { inputTokens: 8, cachedInputTokens: 0, outputTokens: 0, reasoningTokens: 0 },
      model: 'text-embedding-3-small',
      error: undefined,
    })
  })

  test('Responses API Response object', () => {
    expect(readResponseUsage('responses', response)).toEqual({
      usage: {
        inputTokens: 5000,
        cachedInputTokens: 4096,
        outputTokens: 1500,
        reasoningTokens: 1024,
      },
      model: 'o4-mini-2025-04-16',
      error: undefined,
    })
  })

  test('Responses API event payload wrapping the Response', () => {
    const event = { type: 'response.completed', sequence_number: 9, response }
    expect(readResponseUsage('responses', event).usage?.inputTokens).toBe(5000)
    expect(readResponseUsage('responses', event).model).toBe('o4-mini-2025-04-16')
    // Only the Responses API wraps: a chat body with a `response` member has no usage.
    expect(readResponseUsage('chat', event).usage).toBeUndefined()
  })

  test('Anthropic Messages: cache reads and writes added into the input count', () => {
    expect(readResponseUsage('messages', anthropicCachedMessage)).toEqual({
      usage: anthropicCachedUsage,
      model: anthropicModel,
      error: undefined,
    })
    // The same body read as an OpenAI one would bill 3 input tokens instead of 3,047.
    expect(readResponseUsage('chat', anthropicCachedMessage).usage?.inputTokens).toBe(3)
  })

  test('Anthropic error bodies have no usage; malformed usage is reported', () => {
    const error = {
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
      request_id: 'req_1',
    }
    expect(readResponseUsage('messages', error)).toEqual({
      usage: undefined,
      model: undefined,
      error: undefined,
    })
    const bad = readResponseUsage('messages', { model: 'm', usage: { output_tokens: 3 } })
    expect(bad.usage).toBeUndefined()
    expect(bad.error).toBeInstanceOf(InvalidUsageError)
    expect(bad.error?.shortMessage).toBe('Usage has no "input_tokens".')
  })

  test('absent or null usage is undefined without an error', () => {
    const { usage: _, ...noUsage } = chatCompletion
    expect(readResponseUsage('chat', noUsage)).toEqual({
      usage: undefined,
      model: 'gpt-4o-mini-2024-07-18',
      error: undefined,
    })
    expect(
      readResponseUsage('responses', { ...response, status: 'in_progress', usage: null }),
    ).toEqual({ usage: undefined, model: 'o4-mini-2025-04-16', error: undefined })
    expect(
      readResponseUsage('chat', { error: { message: 'Rate limit', type: 'requests' } }),
    ).toEqual({ usage: undefined, model: undefined, error: undefined })
  })

  test.each([null, undefined, 'text', 42, [chatCompletion]])(
    'a body that is not an object (%j) reads as nothing',
    (body) => {
      expect(readResponseUsage('chat', body)).toEqual({
        usage: undefined,
        model: undefined,
        error: undefined,
      })
    },
  )

  test('malformed usage is reported, not thrown', () => {
    const result = readResponseUsage('chat', {
      ...chatCompletion,
      usage: { prompt_tokens: -1, completion_tokens: 2 },
    })
    expect(result.usage).toBeUndefined()
    expect(result.model).toBe('gpt-4o-mini-2024-07-18')
    expect(result.error).toBeInstanceOf(InvalidUsageError)
    expect(result.error).toBeInstanceOf(BaseError)
    expect(result.error).toMatchObject({
      code: 'INVALID_USAGE',
      message: 'Usage "prompt_tokens" must be a non-negative integer.\n\nDetails: Received -1.',
    })
  })

  test('inconsistent usage (cached above input) is reported', () => {
    const result = readResponseUsage('responses', {
      ...response,
      usage: { input_tokens: 1, input_tokens_details: { cached_tokens: 2 }, output_tokens: 0 },
    })
    expect(result.usage).toBeUndefined()
    expect(result.error?.shortMessage).toBe('Cached input tokens exceed input tokens.')
  })

  test('usage that is not an object is reported', () => {
    expect(readResponseUsage('chat', { usage: 'lots' }).error?.shortMessage).toBe(
      'Usage must be an object.',
    )
  })

  test('a model that is not a non-empty string is ignored', () => {
    expect(readResponseUsage('chat', { model: 7, usage: null }).model).toBeUndefined()
    expect(readResponseUsage('chat', { model: '', usage: null }).model).toBeUndefined()
  })
})
