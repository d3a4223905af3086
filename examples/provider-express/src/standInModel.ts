/**
 * A STAND-IN for a real model: a small OpenAI-compatible server that needs no GPU, no network
 * and no API key, so the provider (and `pnpm demo`) run anywhere. It is not an LLM. Its reply is
 * derived from the prompt (the same prompt always gets the same reply), and its token counts are
 * real: the prompt and the reply are counted with the o200k_base tokenizer (gpt-4o's), the way
 * OpenAI counts chat messages. Point `UPSTREAM_BASE_URL` at OpenAI, vLLM, Ollama… to meter a
 * real model instead.
 *
 * Serves `GET /v1/models` and `POST /v1/chat/completions`, JSON and SSE, with OpenAI's
 * `stream_options.include_usage` semantics: every chunk carries `"usage":null` and a last chunk
 * with empty `choices` carries the usage.
 */
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { countTokens, decode, encode } from 'gpt-tokenizer/encoding/o200k_base'

/** The model name the stand-in answers as (and the provider prices by default). */
export const standInModelName = 'rma-stand-in-1'

export type StartStandInModelParameters = {
  /** Port on `host` (default 0: any free port). */
  port?: number
  /** Default 127.0.0.1: the stand-in is meant to sit behind the provider, not to face users. */
  host?: string
  /** Model name reported in responses (default {@link standInModelName}). */
  model?: string
}

export type StandInModel = {
  /** Base URL including `/v1`, as `openaiProxy({ upstream })` expects. */
  baseURL: string
  model: string
  close(): Promise<void>
}

type ChatMessage = { role?: unknown; content?: unknown; name?: unknown }

// Text that spells a special token (`<|endoftext|>`) is ordinary text in a prompt.
const asText = { disallowedSpecial: new Set<string>() }

/**
 * Starts the stand-in model server.
 *
 * @example
 * const model = await startStandInModel()
 * app.post('/v1/*path', openaiProxy({ upstream: model.baseURL }))
 */
export async function startStandInModel(
  parameters: StartStandInModelParameters = {},
): Promise<StandInModel> {
  const model = parameters.model ?? standInModelName
  const server = createServer((req, res) => {
    handle(req, res, model).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'server_error', String(error))
      else res.destroy()
    })
  })
  server.listen(parameters.port ?? 0, parameters.host ?? '127.0.0.1')
  await once(server, 'listening')
  const { address, port } = server.address() as AddressInfo
  return {
    baseURL: `http://${address}:${port}/v1`,
    model,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, model: string): Promise<void> {
  const path = (req.url ?? '').split('?')[0]
  if (req.method === 'GET' && path === '/v1/models')
    return json(res, 200, {
      object: 'list',
      data: [{ id: model, object: 'model', created: 0, owned_by: 'rma-stand-in' }],
    })
  if (req.method !== 'POST' || path !== '/v1/chat/completions')
    return sendError(
      res,
      404,
      'invalid_request_error',
      `The stand-in model serves POST /v1/chat/completions and GET /v1/models, not ${req.method} ${path}.`,
    )
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  let body: Record<string, unknown>
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>
  } catch {
    return sendError(res, 400, 'invalid_request_error', 'The request body is not valid JSON.')
  }
  const messages = Array.isArray(body.messages) ? (body.messages as ChatMessage[]) : []
  if (messages.length === 0)
    return sendError(res, 400, 'invalid_request_error', '`messages` must be a non-empty array.')

  const prompt = promptOf(messages)
  const limit = Number(body.max_completion_tokens ?? body.max_tokens)
  const maxTokens = Number.isSafeInteger(limit) && limit >= 0 ? limit : Number.POSITIVE_INFINITY
  const full = encode(replyTo(prompt), asText)
  const tokens = full.slice(0, maxTokens)
  const reply = decode(tokens)
  const finish = tokens.length < full.length ? 'length' : 'stop'
  const promptTokens = countChatTokens(messages)
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: tokens.length,
    total_tokens: promptTokens + tokens.length,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  }
  const id = `chatcmpl-standin-${createHash('sha256').update(prompt).digest('hex').slice(0, 16)}`
  const created = Math.floor(Date.now() / 1000)
  // Like a real server, it reports the model it runs, whatever name was asked for.
  const reportedModel = model

  if (body.stream !== true)
    return json(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model: reportedModel,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: reply, refusal: null },
          logprobs: null,
          finish_reason: finish,
        },
      ],
      usage,
      system_fingerprint: 'fp_rma_stand_in',
    })

  const includeUsage =
    (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': id,
  })
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model: reportedModel,
      system_fingerprint: 'fp_rma_stand_in',
      choices,
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    })}\n\n`
  const delta = (value: Record<string, unknown>, finishReason: string | null = null) =>
    chunk([{ index: 0, delta: value, logprobs: null, finish_reason: finishReason }])

  res.write(delta({ role: 'assistant', content: '', refusal: null }))
  // A word (with its trailing space) per chunk: whole characters, as a real stream sends them.
  for (const piece of reply.match(/\S+\s*|\s+/g) ?? []) res.write(delta({ content: piece }))
  res.write(delta({}, finish))
  if (includeUsage) res.write(chunk([], { usage }))
  res.end('data: [DONE]\n\n')
}

/** The text of the last user message: what the reply is derived from. */
function promptOf(messages: readonly ChatMessage[]): string {
  const last = [...messages].reverse().find((m) => m.role === 'user') ?? messages.at(-1)
  return textOf(last?.content)
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content))
    return content
      .map((part) => (typeof part?.text === 'string' ? (part.text as string) : ''))
      .join('')
  return ''
}

/**
 * A reply derived only from the prompt: the same prompt always gets the same reply, and longer
 * prompts get longer replies, so token counts (and prices) vary from call to call.
 */
export function replyTo(prompt: string): string {
  const words = prompt.split(/\s+/).filter(Boolean)
  const digest = createHash('sha256').update(prompt).digest('hex')
  const echo = [...words].reverse().join(' ')
  return [
    `Stand-in model reply (not a real LLM). Your prompt has ${words.length} words and fingerprint ${digest.slice(0, 8)}.`,
    echo ? `Read backwards it says: ${echo}.` : 'It is empty.',
    `That is ${countTokens(prompt, asText)} tokens in, and this reply is counted just as precisely.`,
  ].join(' ')
}

/**
 * Prompt tokens as OpenAI counts chat messages for gpt-4o-era models: every string field of a
 * message (role, content, name) plus 3 per message (1 more with a name), plus 3 priming the reply.
 */
export function countChatTokens(messages: readonly ChatMessage[]): number {
  let total = 3
  for (const message of messages) {
    total += 3
    for (const [key, value] of Object.entries(message)) {
      const text = key === 'content' ? textOf(value) : typeof value === 'string' ? value : ''
      total += countTokens(text, asText)
      if (key === 'name') total += 1
    }
  }
  return total
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(value))
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  json(res, status, { error: { message, type, code: null, param: null } })
}
