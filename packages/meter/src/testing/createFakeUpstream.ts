import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Usage the fake upstream reports for every call; tests compare receipts against it. */
export const fakeUsage = {
  input: 1200,
  cached: 1024,
  output: 48,
  reasoning: 16,
} as const

export type FakeUpstream = {
  url: string
  /** The last 1,000 request bodies received, in order. */
  requests: { path: string; body: Record<string, unknown>; headers: IncomingMessage['headers'] }[]
  /** Streams whose connection the proxy closed before the end. */
  cancelled: number
  /** Requests answered so far (the ones of `never-answer` are never). */
  answered: number
  close(): Promise<void>
}

/**
 * An OpenAI-compatible upstream on 127.0.0.1 for tests and benchmarks: chat completions
 * (JSON, SSE with and without `stream_options.include_usage`, tool calls), completions,
 * the Responses API (JSON and SSE), embeddings. It behaves like OpenAI where the meter cares:
 * with include_usage every chunk carries `"usage":null` and a last chunk with empty `choices`
 * carries usage. The request's `model` picks failure modes: `fail-429` (with `retry-after` and
 * `x-ratelimit-*` headers), `fail-500` (HTML body), `bad-json`, `bad-sse`, `slow` (a chunk every
 * 20 ms), `no-usage`, and for streams `pause-after-done` (the connection stays open
 * `pauseAfterDoneMs` after `data: [DONE]` / `response.completed`), `never-answer` (no status,
 * no byte, ever), `reset-mid-stream` (the connection is destroyed after three frames) and
 * `stall-mid-stream` (three frames, then silence with the connection open). `latencyMs` makes
 * every answer start that long after its request arrived, like a model's time to first token.
 *
 * @example
 * const upstream = await createFakeUpstream()
 * app.post('/v1/*path', openaiProxy({ upstream: `${upstream.url}/v1` }))
 */
export async function createFakeUpstream(
  options: { chunks?: number; latencyMs?: number; pauseAfterDoneMs?: number } = {},
): Promise<FakeUpstream> {
  const chunks = options.chunks ?? 8
  const latencyMs = options.latencyMs ?? 0
  pauseAfterDoneMs = options.pauseAfterDoneMs ?? 2000
  const state: FakeUpstream = {
    url: '',
    requests: [],
    cancelled: 0,
    answered: 0,
    close: async () => {},
  }
  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}') as Record<
        string,
        unknown
      >
      const path = (req.url ?? '').split('?')[0] ?? ''
      state.requests.push({ path, body, headers: req.headers })
      // Bounded, so long benchmarks do not grow memory.
      if (state.requests.length > 1000) state.requests.splice(0, state.requests.length - 1000)
      if (body.model === 'never-answer') return
      state.answered++
      const answer = () => handle(path, body, res, chunks, state).catch(() => res.destroy())
      if (latencyMs > 0) setTimeout(answer, latencyMs)
      else void answer()
    })
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return state
}

let pauseAfterDoneMs = 2000

const chatUsage = {
  prompt_tokens: fakeUsage.input,
  completion_tokens: fakeUsage.output,
  total_tokens: fakeUsage.input + fakeUsage.output,
  prompt_tokens_details: { cached_tokens: fakeUsage.cached, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: fakeUsage.reasoning, audio_tokens: 0 },
}

const responsesUsage = {
  input_tokens: fakeUsage.input,
  input_tokens_details: { cached_tokens: fakeUsage.cached },
  output_tokens: fakeUsage.output,
  output_tokens_details: { reasoning_tokens: fakeUsage.reasoning },
  total_tokens: fakeUsage.input + fakeUsage.output,
}

async function handle(
  path: string,
  body: Record<string, unknown>,
  res: ServerResponse,
  chunks: number,
  state: FakeUpstream,
): Promise<void> {
  const model = String(body.model ?? 'gpt-4o-mini')
  const usage = model !== 'no-usage'
  if (model === 'fail-429')
    return json(
      res,
      429,
      {
        error: {
          message: 'Rate limit reached.',
          type: 'rate_limit_error',
          code: 'rate_limit_exceeded',
          param: null,
        },
      },
      {
        'retry-after': '7',
        'x-ratelimit-limit-requests': '500',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '7s',
      },
    )
  if (model === 'fail-500') {
    res.writeHead(500, { 'content-type': 'text/html' })
    return void res.end('<html><body>Internal Server Error</body></html>')
  }
  if (model === 'bad-json' && body.stream !== true) {
    res.writeHead(200, { 'content-type': 'application/json' })
    return void res.end('{"id": "chatcmpl-1", "choices": [')
  }
  const stream = body.stream === true
  const includeUsage =
    (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true
  if (path.endsWith('/embeddings'))
    return json(res, 200, {
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.1, -0.2, 0.3] }],
      model,
      usage: { prompt_tokens: fakeUsage.input, total_tokens: fakeUsage.input },
    })
  if (path.endsWith('/responses'))
    return stream
      ? responsesStream(res, model, chunks, usage, state)
      : json(res, 200, responseObject(model, usage))
  if (path.endsWith('/chat/completions')) {
    if (!stream) return json(res, 200, chatCompletion(model, body, usage))
    return chatStream(res, model, body, chunks, includeUsage && usage, state)
  }
  if (path.endsWith('/completions'))
    return json(res, 200, {
      id: 'cmpl-1',
      object: 'text_completion',
      created: 1,
      model,
      choices: [{ text: 'Hello there', index: 0, logprobs: null, finish_reason: 'stop' }],
      ...(usage ? { usage: chatUsage } : {}),
    })
  json(res, 404, {
    error: {
      message: `Unknown path ${path}`,
      type: 'invalid_request_error',
      code: null,
      param: null,
    },
  })
}

function json(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(value)
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-request-id': `req_${status}_${Date.now()}`,
    ...headers,
  })
  res.end(text)
}

function chatCompletion(model: string, body: Record<string, unknown>, usage: boolean) {
  const tools = Array.isArray(body.tools) && body.tools.length > 0
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model,
    choices: [
      {
        index: 0,
        message: tools
          ? {
              role: 'assistant',
              content: null,
              tool_calls: [
                {
                  id: 'call_1',
                  type: 'function',
                  function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
                },
              ],
              refusal: null,
            }
          : { role: 'assistant', content: 'Hello there, how can I help?', refusal: null },
        logprobs: null,
        finish_reason: tools ? 'tool_calls' : 'stop',
      },
    ],
    ...(usage ? { usage: chatUsage } : {}),
    system_fingerprint: 'fp_fake',
  }
}

async function chatStream(
  res: ServerResponse,
  model: string,
  body: Record<string, unknown>,
  chunks: number,
  includeUsage: boolean,
  state: FakeUpstream,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  })
  const tools = Array.isArray(body.tools) && body.tools.length > 0
  const tail = includeUsage ? ',"usage":null' : ''
  const frame = (delta: string, finish: string | null) =>
    `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"${model}","system_fingerprint":"fp_fake","choices":[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish ? `"${finish}"` : 'null'}}]${tail}}\n\n`
  const frames: string[] = []
  if (tools) {
    frames.push(
      frame(
        '{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null}',
        null,
      ),
    )
    for (const piece of ['{"ci', 'ty":"', 'Paris', '"}'])
      frames.push(
        frame(
          `{"tool_calls":[{"index":0,"function":{"arguments":${JSON.stringify(piece)}}}]}`,
          null,
        ),
      )
    frames.push(frame('{}', 'tool_calls'))
  } else {
    frames.push(frame('{"role":"assistant","content":"","refusal":null}', null))
    for (let i = 0; i < chunks; i++) frames.push(frame(`{"content":"word${i} "}`, null))
    frames.push(frame('{}', 'stop'))
  }
  if (includeUsage)
    frames.push(
      `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"${model}","system_fingerprint":"fp_fake","choices":[],"usage":${JSON.stringify(chatUsage)}}\n\n`,
    )
  if (model === 'bad-sse')
    frames.splice(
      2,
      0,
      'data: {"id":"chatcmpl-1","choices":[{"delta":{"content":"br\n\ndata: oken}}\r\n\r\n',
      ': keep-alive comment\n\n',
    )
  frames.push('data: [DONE]\n\n')
  await writeFrames(res, frames, model, state)
}

function responseObject(model: string, usage: boolean) {
  return {
    id: 'resp_1',
    object: 'response',
    created_at: 1,
    status: 'completed',
    model,
    output: [
      {
        type: 'message',
        id: 'msg_1',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Hello there', annotations: [] }],
      },
    ],
    usage: usage ? responsesUsage : null,
  }
}

async function responsesStream(
  res: ServerResponse,
  model: string,
  chunks: number,
  usage: boolean,
  state: FakeUpstream,
): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  const event = (type: string, data: object) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
  const frames = [
    event('response.created', {
      response: { ...responseObject(model, false), status: 'in_progress', output: [] },
    }),
    event('response.output_item.added', {
      output_index: 0,
      item: { type: 'message', id: 'msg_1', status: 'in_progress', role: 'assistant', content: [] },
    }),
    event('response.content_part.added', {
      item_id: 'msg_1',
      output_index: 0,
      content_index: 0,
      part: { type: 'output_text', text: '', annotations: [] },
    }),
  ]
  for (let i = 0; i < chunks; i++)
    frames.push(
      event('response.output_text.delta', {
        item_id: 'msg_1',
        output_index: 0,
        content_index: 0,
        delta: `word${i} `,
      }),
    )
  frames.push(event('response.completed', { response: responseObject(model, usage) }))
  await writeFrames(res, frames, model, state)
}

async function writeFrames(
  res: ServerResponse,
  frames: string[],
  model: string,
  state: FakeUpstream,
): Promise<void> {
  const delayMs = model === 'slow' ? 20 : 0
  let closed = false
  res.on('close', () => {
    if (!res.writableFinished) {
      closed = true
      state.cancelled++
    }
  })
  for (const [i, f] of frames.entries()) {
    if (closed) return
    // Once the frames before are on the wire, so the client gets them before the reset.
    if (i === 3 && model === 'reset-mid-stream')
      return void res.write('', () => res.socket?.destroy())
    if (i === 3 && model === 'stall-mid-stream') return
    // Split each frame in two writes at an odd place so parsers meet frames cut mid-way.
    const cut = Math.max(1, Math.floor(f.length / 3))
    res.write(f.slice(0, cut))
    res.write(f.slice(cut))
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs))
  }
  // Like a server that flushes its terminator and closes the connection a while later.
  if (model === 'pause-after-done') await new Promise((r) => setTimeout(r, pauseAfterDoneMs))
  res.end()
}
