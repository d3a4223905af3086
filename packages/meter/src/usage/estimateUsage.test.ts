import { beforeAll, describe, expect, test, vi } from 'vitest'
import {
  estimateUsage,
  exactEstimateBudget,
  loadTokenizer,
  maxOutputTokens,
} from './estimateUsage.js'

// o200k_base counts used below (pinned, so a change of encoding shows up here):
// "Hello!" 2, "Hello, world!" 4, "Hello! How can I help you today?" 9, "You are terse." 4,
// "What is 2+2?" 7, "get_weather" 2, "Weather for a city" 4, the parameters JSON 14,
// '{"city":"Paris"}' 5, "Sunny" 1, "Once upon a time" 4, "Describe" 1, "alice" 1.
const reply = 'Hello! How can I help you today?'
const weatherParameters = { type: 'object', properties: { city: { type: 'string' } } }

const usage = (inputTokens: number, outputTokens: number) => ({
  inputTokens,
  cachedInputTokens: 0,
  outputTokens,
  reasoningTokens: 0,
})

beforeAll(() => loadTokenizer())

test('estimating before the tokenizer is loaded is a typed error', async () => {
  vi.resetModules()
  const fresh = await import('./estimateUsage.js')
  expect(() =>
    fresh.estimateUsage({ endpoint: 'chat', request: { messages: [] }, outputText: 'Hi' }),
  ).toThrow(expect.objectContaining({ code: 'TOKENIZER_NOT_LOADED' }))
})

describe('estimateUsage: Chat Completions', () => {
  test('messages with per-message overhead and reply priming', () => {
    const request = {
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'What is 2+2?' },
      ],
    }
    // 3 priming + (3 + 4) + (3 + 7)
    expect(estimateUsage({ endpoint: 'chat', request, outputText: reply })).toEqual(usage(20, 9))
  })

  test('a name costs one token more', () => {
    const request = { messages: [{ role: 'user', name: 'alice', content: 'Hello!' }] }
    // 3 + (3 + 1 + 1 + 2)
    expect(estimateUsage({ endpoint: 'chat', request, outputText: '' })).toEqual(usage(10, 0))
  })

  test('text parts count, images count at the floor, other parts count nothing', () => {
    const request = {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Describe' },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
            { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } },
          ],
        },
      ],
    }
    // 3 + (3 + 1 + 85)
    expect(estimateUsage({ endpoint: 'chat', request, outputText: '' }).inputTokens).toBe(92)
  })

  test('tool definitions, assistant tool calls and tool results', () => {
    const request = {
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Weather for a city',
            parameters: weatherParameters,
          },
        },
      ],
      messages: [
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'Sunny' },
      ],
    }
    // 3 + tools (2 + 4 + 14) + (3 + 2 + 5) + (3 + 1)
    expect(estimateUsage({ endpoint: 'chat', request, outputText: '' }).inputTokens).toBe(37)
  })

  test('output is capped at max_completion_tokens ?? max_tokens, times n', () => {
    const messages = [{ role: 'user', content: 'Hello!' }]
    const out = (extra: Record<string, unknown>) =>
      estimateUsage({ endpoint: 'chat', request: { messages, ...extra }, outputText: reply })
        .outputTokens
    expect(out({})).toBe(9)
    expect(out({ max_tokens: 5 })).toBe(5)
    expect(out({ max_completion_tokens: 3, max_tokens: 100 })).toBe(3)
    expect(out({ max_tokens: 4, n: 2 })).toBe(8)
    expect(out({ max_tokens: 5, n: 2 })).toBe(9)
    expect(out({ max_tokens: 0 })).toBe(0)
  })

  test('text spelling a special token is counted as text, not rejected', () => {
    const request = { messages: [{ role: 'user', content: '<|endoftext|>' }] }
    expect(estimateUsage({ endpoint: 'chat', request, outputText: '<|endoftext|>' })).toEqual(
      usage(13, 7),
    )
  })
})

describe('estimateUsage: Completions', () => {
  test.each([
    ['a string', 'Once upon a time', 4],
    ['strings', ['Once upon a time', 'Hello!'], 6],
    ['a token array', [1, 2, 3], 3],
    ['token arrays', [[1, 2], [3]], 3],
  ])('prompt as %s', (_, prompt, inputTokens) => {
    expect(estimateUsage({ endpoint: 'completions', request: { prompt }, outputText: '' })).toEqual(
      usage(inputTokens, 0),
    )
  })

  test('suffix counts; output is capped by max_tokens times best_of', () => {
    const request = {
      prompt: 'Once upon a time',
      suffix: 'Hello!',
      max_tokens: 2,
      best_of: 3,
      n: 1,
    }
    expect(estimateUsage({ endpoint: 'completions', request, outputText: reply })).toEqual(
      usage(6, 6),
    )
  })
})

describe('estimateUsage: Responses API', () => {
  test('string input and instructions', () => {
    const request = { model: 'gpt-4.1', instructions: 'You are terse.', input: 'Hello, world!' }
    // (3 + 4) + (3 + 4) + 3 priming
    expect(estimateUsage({ endpoint: 'responses', request, outputText: reply })).toEqual(
      usage(17, 9),
    )
  })

  test('message, function call and function output items, and tools', () => {
    const request = {
      tools: [
        {
          type: 'function',
          name: 'get_weather',
          description: 'Weather for a city',
          parameters: weatherParameters,
        },
        { type: 'web_search_preview' },
      ],
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'Hello, world!' }] },
        { type: 'function_call', call_id: 'c', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'c', output: 'Sunny' },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { role: 'assistant', content: 'Hello!' },
      ],
    }
    // tools 20 + (3 + 4) + (2 + 5) + 1 + 0 + (3 + 2) + 3 priming
    expect(estimateUsage({ endpoint: 'responses', request, outputText: '' }).inputTokens).toBe(43)
  })

  test('output is capped at max_output_tokens', () => {
    const request = { input: 'Hello, world!', max_output_tokens: 4, max_tokens: 100 }
    expect(estimateUsage({ endpoint: 'responses', request, outputText: reply }).outputTokens).toBe(
      4,
    )
  })
})

describe('estimateUsage: Embeddings', () => {
  test('input strings and token arrays; never output tokens', () => {
    expect(
      estimateUsage({
        endpoint: 'embeddings',
        request: { input: 'Hello, world!' },
        outputText: reply,
      }),
    ).toEqual(usage(4, 0))
    expect(
      estimateUsage({
        endpoint: 'embeddings',
        request: { input: ['Hello, world!', 'Hello!'] },
        outputText: '',
      }).inputTokens,
    ).toBe(6)
    expect(
      estimateUsage({
        endpoint: 'embeddings',
        request: { input: [[1, 2, 3], [4]] },
        outputText: '',
      }).inputTokens,
    ).toBe(4)
  })
})

describe('estimateUsage: weird requests', () => {
  test.each([
    ['chat', null],
    ['chat', 'messages'],
    ['chat', [1, 2]],
    ['chat', { messages: 'Hello!' }],
    ['chat', { messages: [null, 3, 'x', { content: 5 }, { content: [null, 7, { text: 3 }] }] }],
    [
      'chat',
      {
        messages: [{ role: 'user', content: 'x', tool_calls: 'no', name: 9 }],
        tools: [1, null, { function: 2 }],
      },
    ],
    ['completions', { prompt: { text: 'x' } }],
    ['completions', { prompt: [null, {}, true] }],
    ['responses', { input: 42, instructions: ['x'] }],
    ['responses', { input: [null, 1, { content: { text: 'x' } }] }],
    ['embeddings', { input: null }],
  ] as const)('%s %j: best effort, no throw', (endpoint, request) => {
    const result = estimateUsage({ endpoint, request, outputText: 'Hello!' })
    expect(result.cachedInputTokens).toBe(0)
    expect(result.reasoningTokens).toBe(0)
    expect(Number.isSafeInteger(result.inputTokens) && result.inputTokens >= 0).toBe(true)
    expect(result.outputTokens).toBe(endpoint === 'embeddings' ? 0 : 2)
  })

  test('a request without messages has no input tokens', () => {
    expect(estimateUsage({ endpoint: 'chat', request: {}, outputText: '' })).toEqual(usage(0, 0))
  })

  test('parameters that cannot be serialised count nothing', () => {
    const parameters: Record<string, unknown> = {}
    parameters.self = parameters
    const request = {
      messages: [],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters } }],
    }
    expect(estimateUsage({ endpoint: 'chat', request, outputText: '' }).inputTokens).toBe(5)
  })
})

describe('maxOutputTokens', () => {
  test.each([
    ['chat', { max_completion_tokens: 100, n: 2 }, 200],
    ['chat', { max_tokens: 50 }, 50],
    ['chat', { max_completion_tokens: 10, max_tokens: 50 }, 10],
    ['chat', { max_completion_tokens: null, max_tokens: 50 }, 50],
    ['chat', { max_tokens: 50, n: 0 }, 50],
    ['chat', { max_tokens: 50, n: 'two' }, 50],
    ['chat', { n: 2 }, undefined],
    ['chat', { max_tokens: -1 }, undefined],
    ['chat', { max_tokens: 1.5 }, undefined],
    ['chat', { max_tokens: '10' }, undefined],
    ['completions', { max_tokens: 10, n: 2, best_of: 3 }, 30],
    ['completions', { max_tokens: 10, n: 4, best_of: 3 }, 40],
    ['chat', { max_tokens: 10, best_of: 3 }, 10],
    ['responses', { max_output_tokens: 64 }, 64],
    ['responses', { max_tokens: 64 }, undefined],
    ['embeddings', { max_tokens: 64 }, undefined],
    ['chat', null, undefined],
    ['chat', { max_tokens: Number.MAX_SAFE_INTEGER, n: 2 }, Number.MAX_SAFE_INTEGER],
  ] as const)('%s %j → %s', (endpoint, request, expected) => {
    expect(maxOutputTokens(endpoint, request)).toBe(expected)
  })
})

describe('bounded work on huge texts', () => {
  test('beyond the exact budget the count is sampled: close to exact, also when cheap text hides dense text', async () => {
    await loadTokenizer()
    const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base')
    const sentence = 'The quick brown fox jumps over the lazy dog. '
    const english = sentence.repeat(Math.ceil((4 * 1024 * 1024) / sentence.length))
    let junk = ''
    for (let i = 0; junk.length < 4 * 1024 * 1024; i++) junk += `${(i * 7919) % 100003}#`
    for (const prompt of [english, english + junk, junk + english]) {
      expect(prompt.length).toBeGreaterThan(exactEstimateBudget * 10)
      const exact = countTokens(prompt) + 0
      const estimated = estimateUsage({
        endpoint: 'completions',
        request: { prompt },
        outputText: '',
      }).inputTokens
      expect(Math.abs(estimated - exact) / exact).toBeLessThan(0.05)
    }
  })
})

describe('Anthropic Messages', () => {
  test('system (string or blocks), messages and tools count; output capped at max_tokens', () => {
    const request = {
      model: 'claude-sonnet-4-5',
      max_tokens: 5,
      system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is 2+2?' }] }],
      tools: [
        { name: 'get_weather', description: 'Weather for a city', input_schema: weatherParameters },
      ],
    }
    // 3 priming + (2 + 4 + 14) tools + (3 + 7) message + 4 system; 9 output tokens capped at 5
    expect(estimateUsage({ endpoint: 'messages', request, outputText: reply })).toEqual(
      usage(37, 5),
    )
    expect(
      estimateUsage({
        endpoint: 'messages',
        request: { ...request, system: 'You are terse.' },
        outputText: '',
      }).inputTokens,
    ).toBe(37)
    expect(maxOutputTokens('messages', request)).toBe(5)
  })
})
