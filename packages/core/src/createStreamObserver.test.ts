import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { createSseParser, type SseEvent } from './createSseParser.js'
import { createStreamObserver, maxObservedTextLength } from './createStreamObserver.js'
import type { Endpoint } from './endpointOf.js'
import {
  anthropicBasicStream,
  anthropicCachedStream,
  anthropicCachedUsage,
  anthropicModel,
  anthropicOverloadedStream,
} from './testing/anthropicStreams.js'
import { chunkingArbitrary } from './testing/chunkingArbitrary.js'

const data = (payload: unknown, event?: string): SseEvent => ({
  event,
  data: typeof payload === 'string' ? payload : JSON.stringify(payload),
  id: undefined,
})

function observe(endpoint: Endpoint, events: readonly SseEvent[]) {
  const observer = createStreamObserver(endpoint)
  for (const event of events) observer.onEvent(event)
  return observer.result()
}

const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-4o-mini-2024-07-18',
  choices,
  ...extra,
})

const delta = (d: Record<string, unknown>, finish: string | null = null) => ({
  index: 0,
  delta: d,
  logprobs: null,
  finish_reason: finish,
})

describe('createStreamObserver: Chat Completions', () => {
  test('a stream with include_usage: text, model, usage, done', () => {
    const result = observe('chat', [
      data(chunk([delta({ role: 'assistant', content: '', refusal: null })], { usage: null })),
      data(chunk([delta({ content: 'Hel' })], { usage: null })),
      data(chunk([delta({ content: 'lo' })], { usage: null })),
      data(chunk([delta({}, 'stop')], { usage: null })),
      data(
        chunk([], {
          usage: {
            prompt_tokens: 9,
            completion_tokens: 2,
            total_tokens: 11,
            prompt_tokens_details: { cached_tokens: 0 },
            completion_tokens_details: { reasoning_tokens: 0 },
          },
        }),
      ),
      data('[DONE]'),
    ])
    expect(result).toEqual({
      usage: { inputTokens: 9, cachedInputTokens: 0, outputTokens: 2, reasoningTokens: 0 },
      model: 'gpt-4o-mini-2024-07-18',
      outputText: 'Hello',
      done: true,
      failed: false,
      invalidFrames: 0,
    })
  })

  test('without include_usage: no usage, and not done before [DONE]', () => {
    const result = observe('chat', [data(chunk([delta({ content: 'Hi' })]))])
    expect(result).toMatchObject({ usage: undefined, outputText: 'Hi', done: false })
  })

  test('refusals, tool-call names and arguments, reasoning and every choice count as output', () => {
    const result = observe('chat', [
      data(chunk([delta({ refusal: 'No. ' })])),
      data(
        chunk([
          delta({
            tool_calls: [
              {
                index: 0,
                id: 'call_1',
                type: 'function',
                function: { name: 'get_weather', arguments: '' },
              },
            ],
          }),
        ]),
      ),
      data(chunk([delta({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })])),
      data(chunk([delta({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] })])),
      data(chunk([delta({ function_call: { name: 'legacy', arguments: '{}' } })])),
      data(
        chunk([
          delta({ reasoning_content: 'think ' }),
          { index: 1, delta: { reasoning: 'more ' } },
        ]),
      ),
      data(
        chunk([
          { index: 0, delta: { content: 'A' } },
          { index: 1, delta: { content: 'B' } },
        ]),
      ),
    ])
    expect(result.outputText).toBe('No. get_weather{"city":"Paris"}legacy{}think more AB')
  })

  test('legacy Completions: choices[].text and usage', () => {
    const result = observe('completions', [
      data({
        object: 'text_completion',
        model: 'gpt-3.5-turbo-instruct',
        choices: [{ text: 'Once', index: 0 }],
      }),
      data({ object: 'text_completion', choices: [{ text: ' upon', index: 0 }] }),
      data({
        object: 'text_completion',
        choices: [],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      }),
      data('[DONE]'),
    ])
    expect(result).toEqual({
      usage: { inputTokens: 3, cachedInputTokens: 0, outputTokens: 2, reasoningTokens: 0 },
      model: 'gpt-3.5-turbo-instruct',
      outputText: 'Once upon',
      done: true,
      failed: false,
      invalidFrames: 0,
    })
  })

  test('an error payload mid-stream sets failed', () => {
    const result = observe('chat', [
      data(chunk([delta({ content: 'Hi' })])),
      data({ error: { message: 'The server had an error', type: 'server_error' } }),
    ])
    expect(result).toMatchObject({ failed: true, done: false, outputText: 'Hi', invalidFrames: 0 })
  })

  test('an `event: error` frame sets failed', () => {
    expect(observe('chat', [data({ message: 'overloaded' }, 'error')]).failed).toBe(true)
  })

  test('malformed frames are counted and ignored; malformed usage keeps the last good one', () => {
    const good = { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 }
    const result = observe('chat', [
      data(chunk([delta({ content: 'a' })])),
      data('{"choices":[{"delta":{"content":"b"}'),
      data('not json'),
      data('42'),
      data('[1,2]'),
      data(chunk([], { usage: good })),
      data(chunk([], { usage: { prompt_tokens: 'four' } })),
      data(
        chunk([
          null,
          7,
          { delta: null },
          { delta: { content: 5, tool_calls: [null, { function: 3 }] } },
        ]),
      ),
    ])
    expect(result).toMatchObject({
      usage: { inputTokens: 4, cachedInputTokens: 0, outputTokens: 1, reasoningTokens: 0 },
      outputText: 'a',
      invalidFrames: 5,
      failed: false,
    })
  })
})

const completedResponse = {
  id: 'resp_1',
  object: 'response',
  status: 'completed',
  model: 'gpt-4.1-2025-04-14',
  usage: {
    input_tokens: 37,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 11,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 48,
  },
}

/** Responses API frames carry both an `event:` line and a `type` in the data. */
const rEvent = (type: string, payload: Record<string, unknown>) =>
  data({ type, sequence_number: 0, ...payload }, type)

describe('createStreamObserver: Responses API', () => {
  test('a completed stream: text deltas, model, usage, done', () => {
    const result = observe('responses', [
      rEvent('response.created', {
        response: { ...completedResponse, status: 'in_progress', usage: null },
      }),
      rEvent('response.output_item.added', { item: { type: 'message', role: 'assistant' } }),
      rEvent('response.output_text.delta', { delta: 'Hi' }),
      rEvent('response.output_text.delta', { delta: ' there' }),
      rEvent('response.output_text.done', { text: 'Hi there' }),
      rEvent('response.completed', { response: completedResponse }),
    ])
    expect(result).toEqual({
      usage: { inputTokens: 37, cachedInputTokens: 0, outputTokens: 11, reasoningTokens: 0 },
      model: 'gpt-4.1-2025-04-14',
      outputText: 'Hi there',
      done: true,
      failed: false,
      invalidFrames: 0,
    })
  })

  test('the model is known from response.created before any usage', () => {
    const result = observe('responses', [
      rEvent('response.created', { response: { model: 'o3-2025-04-16', usage: null } }),
      rEvent('response.output_text.delta', { delta: 'x' }),
    ])
    expect(result).toMatchObject({ model: 'o3-2025-04-16', usage: undefined, done: false })
  })

  test('function calls, refusals and reasoning summaries count as output', () => {
    const result = observe('responses', [
      rEvent('response.output_item.added', {
        item: { type: 'function_call', name: 'lookup', arguments: '' },
      }),
      rEvent('response.function_call_arguments.delta', { delta: '{"q":1}' }),
      rEvent('response.function_call_arguments.done', { arguments: '{"q":1}' }),
      rEvent('response.refusal.delta', { delta: ' no' }),
      rEvent('response.reasoning_summary_text.delta', { delta: ' because' }),
      rEvent('response.reasoning_text.delta', { delta: ' thinking' }),
    ])
    expect(result.outputText).toBe('lookup{"q":1} no because thinking')
  })

  test('response.incomplete sets failed and still gives its usage', () => {
    const result = observe('responses', [
      rEvent('response.output_text.delta', { delta: 'Long' }),
      rEvent('response.incomplete', {
        response: {
          ...completedResponse,
          status: 'incomplete',
          incomplete_details: { reason: 'max_output_tokens' },
        },
      }),
    ])
    expect(result).toMatchObject({ failed: true, done: false, usage: { outputTokens: 11 } })
  })

  test('response.failed and error events set failed', () => {
    expect(
      observe('responses', [
        rEvent('response.failed', {
          response: { status: 'failed', error: { code: 'server_error' } },
        }),
      ]),
    ).toMatchObject({ failed: true, done: false, usage: undefined })
    expect(observe('responses', [rEvent('error', { code: 'rate_limit_exceeded' })]).failed).toBe(
      true,
    )
  })

  test('the payload type wins; the event line is the fallback', () => {
    const result = observe('responses', [
      data({ delta: 'from event line' }, 'response.output_text.delta'),
      data({ type: 'response.output_text.delta', delta: '+typed' }, 'something.else'),
    ])
    expect(result.outputText).toBe('from event line+typed')
  })

  test('malformed frames and malformed usage are counted, never thrown', () => {
    const result = observe('responses', [
      data('{oops', 'response.output_text.delta'),
      rEvent('response.output_text.delta', { delta: 3 }),
      rEvent('response.completed', { response: { model: 'm', usage: { input_tokens: -5 } } }),
    ])
    expect(result).toMatchObject({ invalidFrames: 2, usage: undefined, model: 'm', done: true })
  })
})

describe('createStreamObserver', () => {
  test('outputText stops growing at maxObservedTextLength', () => {
    const observer = createStreamObserver('chat')
    const piece = 'x'.repeat(1024 * 1024 + 1)
    for (let i = 0; i < 5; i++) observer.onEvent(data(chunk([delta({ content: piece })])))
    const { outputText } = observer.result()
    expect(outputText.length).toBe(maxObservedTextLength)
    expect(maxObservedTextLength).toBe(4 * 1024 * 1024)
  })

  test('works behind createSseParser on raw bytes', () => {
    const observer = createStreamObserver('responses')
    const parser = createSseParser(observer.onEvent)
    const stream = [
      'event: response.output_text.delta',
      'data: {"type":"response.output_text.delta","delta":"é🚀"}',
      '',
      'event: response.completed',
      `data: ${JSON.stringify({ type: 'response.completed', response: completedResponse })}`,
      '',
      '',
    ].join('\r\n')
    const bytes = new TextEncoder().encode(stream)
    for (let i = 0; i < bytes.length; i += 3) parser.push(bytes.subarray(i, i + 3))
    parser.end()
    expect(observer.result()).toMatchObject({
      outputText: 'é🚀',
      done: true,
      usage: { inputTokens: 37 },
    })
  })
})

describe('createStreamObserver: Anthropic Messages', () => {
  const run = (stream: string, chunks: Uint8Array[] = [new TextEncoder().encode(stream)]) => {
    const observer = createStreamObserver('messages')
    const parser = createSseParser(observer.onEvent)
    for (const chunk of chunks) parser.push(chunk)
    parser.end()
    return observer.result()
  }

  test('message_start input + cache counts, message_delta cumulative output: the billed usage', () => {
    expect(run(anthropicCachedStream)).toEqual({
      usage: anthropicCachedUsage,
      model: anthropicModel,
      outputText: 'Hello wörld 🚀get_weather{"location": "Paris"}',
      done: true,
      failed: false,
      invalidFrames: 0,
    })
  })

  test('the older shape: message_delta has output_tokens only, input comes from message_start', () => {
    expect(run(anthropicBasicStream)).toMatchObject({
      usage: {
        inputTokens: 25,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
        outputTokens: 15,
        reasoningTokens: 0,
      },
      outputText: 'Hello!',
      done: true,
    })
  })

  test('the same result for any chunking of the bytes (property)', () => {
    const bytes = new TextEncoder().encode(anthropicCachedStream)
    const once = run(anthropicCachedStream)
    fc.assert(
      fc.property(chunkingArbitrary(bytes), (chunks) => {
        expect(run(anthropicCachedStream, chunks)).toEqual(once)
      }),
      { numRuns: 200 },
    )
  })

  test('a stream cut before message_stop is not done; its usage so far is known', () => {
    const cut = anthropicCachedStream.slice(
      0,
      anthropicCachedStream.indexOf('event: message_delta'),
    )
    expect(run(cut)).toMatchObject({
      done: false,
      usage: {
        inputTokens: 3047,
        cachedInputTokens: 1000,
        cacheWriteTokens: 2044,
        outputTokens: 1,
      },
    })
  })

  test('an error event sets failed', () => {
    expect(run(anthropicOverloadedStream)).toMatchObject({ failed: true, done: false })
  })

  test('thinking deltas count as output; signature deltas do not', () => {
    const observer = createStreamObserver('messages')
    observer.onEvent(
      data({
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'thinking_delta', thinking: 'hm' },
      }),
    )
    observer.onEvent(
      data({
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'signature_delta', signature: 'EqQB' },
      }),
    )
    expect(observer.result().outputText).toBe('hm')
  })

  test('malformed usage is counted and the last good usage kept; the event line is the fallback type', () => {
    const observer = createStreamObserver('messages')
    observer.onEvent(data({ message: { model: 'm', usage: { input_tokens: 5 } } }, 'message_start'))
    observer.onEvent(data({ type: 'message_delta', usage: { output_tokens: -1 } }))
    observer.onEvent(data({ type: 'message_delta', usage: 'x' }))
    expect(observer.result()).toMatchObject({
      model: 'm',
      usage: { inputTokens: 5, outputTokens: 0 },
      invalidFrames: 2,
    })
    observer.onEvent(data({ type: 'message_delta', usage: { output_tokens: 7 } }))
    expect(observer.result().usage).toMatchObject({ inputTokens: 5, outputTokens: 7 })
  })

  test('collectText: false keeps no text', () => {
    const observer = createStreamObserver('messages', { collectText: false })
    const parser = createSseParser(observer.onEvent)
    parser.push(new TextEncoder().encode(anthropicCachedStream))
    expect(observer.result()).toMatchObject({ outputText: '', usage: anthropicCachedUsage })
  })
})
