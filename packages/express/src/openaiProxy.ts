import type { Request, RequestHandler, Response } from 'express'
import { MeterError } from './errors.js'
import { readRawBody } from './readRawBody.js'
import { sendError } from './sendError.js'
import { createIncludeUsageStripper } from './sse/createIncludeUsageStripper.js'
import { createSseParser } from './sse/createSseParser.js'
import { createStreamObserver } from './usage/createStreamObserver.js'

export type OpenAIProxyOptions = {
  /** Base URL of an OpenAI-compatible API, including its version path: `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`. */
  upstream: string
  /** Sent upstream as `Authorization: Bearer <apiKey>`. The client's own Authorization is never forwarded. */
  apiKey?: string
  /** Injected fetch (default: global fetch). */
  fetch?: typeof fetch
  /** Abort the upstream call after this many milliseconds (default 10 minutes). */
  timeoutMs?: number
  /**
   * When the client leaves mid-stream: `'cancel'` aborts the upstream call (its receipt is
   * `partial`, usage estimated from what was forwarded); `'drain'` keeps reading to the end
   * for the exact usage (the receipt is `reported`). Default `'cancel'`.
   */
  onClientAbort?: 'cancel' | 'drain'
  /**
   * Add `stream_options.include_usage` to streaming chat requests that lack it, so usage is
   * reported rather than estimated. The added usage chunk and `"usage":null` members are
   * removed again, so the client receives the stream it asked for. Default true.
   */
  includeUsage?: boolean
}

const forwardedRequestHeaders = [
  'content-type',
  'accept',
  'openai-organization',
  'openai-project',
  'openai-beta',
  'user-agent',
]
const forwardedResponseHeaders = [
  'content-type',
  'x-request-id',
  'openai-processing-ms',
  'openai-version',
  'openai-model',
  'cache-control',
]

/**
 * A streaming pass-through to an OpenAI-compatible upstream (OpenAI, vLLM, Ollama, LM Studio).
 * Request bytes go upstream unchanged (unless `includeUsage` must be added); stream bytes come
 * back chunk by chunk, with backpressure. Upstream errors, timeouts and non-JSON bodies reach
 * the client as OpenAI-shaped errors, so the meter charges nothing for them.
 *
 * @example
 * app.use(rmaMeter({ ... }))
 * app.post('/v1/*path', openaiProxy({ upstream: 'https://api.openai.com/v1', apiKey: process.env.OPENAI_API_KEY }))
 */
export function openaiProxy(options: OpenAIProxyOptions): RequestHandler {
  const upstream = options.upstream.replace(/\/+$/, '')
  const doFetch = options.fetch ?? fetch
  const timeoutMs = options.timeoutMs ?? 600_000
  const drain = options.onClientAbort === 'drain'
  const includeUsage = options.includeUsage ?? true

  return async function openaiProxyHandler(req: Request, res: Response) {
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(new Error('timeout')), timeoutMs)
    if (req.rma && drain) req.rma.draining = true
    res.on('close', () => {
      if (!res.writableFinished && !drain) controller.abort(new Error('client closed'))
    })
    try {
      const { body, addedUsage } = await requestBody(req, includeUsage)
      const path = req.path.replace(/^\/v1(?=\/)/, '')
      const query = req.originalUrl.includes('?')
        ? req.originalUrl.slice(req.originalUrl.indexOf('?'))
        : ''
      let response: globalThis.Response
      try {
        response = await doFetch(`${upstream}${path}${query}`, {
          method: req.method,
          headers: requestHeaders(req, options.apiKey),
          body: req.method === 'GET' || req.method === 'HEAD' ? undefined : new Uint8Array(body),
          signal: controller.signal,
        })
      } catch (error) {
        throw upstreamFailure(error, controller)
      }
      res.status(response.status)
      for (const name of forwardedResponseHeaders) {
        const value = response.headers.get(name)
        if (value !== null) res.setHeader(name, value)
      }
      const isStream = (response.headers.get('content-type') ?? '').includes('text/event-stream')
      if (response.status >= 400) return await relayError(res, response)
      if (!isStream) return await relayJson(res, response)
      await relayStream(req, res, response, addedUsage, controller)
    } catch (error) {
      sendError(res, error instanceof MeterError ? error : upstreamFailure(error, controller))
    } finally {
      clearTimeout(timer)
    }
  }
}

/**
 * The bytes to send upstream: the meter's exact bytes, else a body parser's result, else the
 * request read here (the proxy also works alone, without the meter or a body parser).
 */
async function requestBody(
  req: Request,
  includeUsage: boolean,
): Promise<{ body: Buffer; addedUsage: boolean }> {
  let raw: Buffer
  let body: Record<string, unknown> | undefined
  if (req.rma) {
    raw = req.rma.rawBody
    body = req.rma.body
  } else if (req.body !== undefined) {
    raw = Buffer.from(JSON.stringify(req.body))
    body = req.body as Record<string, unknown>
  } else {
    raw = await readRawBody(req, 10 * 1024 * 1024)
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>
    } catch {
      body = undefined
    }
  }
  const isChat = /\/chat\/completions$/.test(req.path)
  const options = body?.stream_options as { include_usage?: unknown } | undefined
  if (!includeUsage || !isChat || body?.stream !== true || options?.include_usage === true)
    return { body: raw, addedUsage: false }
  const withUsage = { ...body, stream_options: { ...(options ?? {}), include_usage: true } }
  return { body: Buffer.from(JSON.stringify(withUsage)), addedUsage: true }
}

function requestHeaders(req: Request, apiKey: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const name of forwardedRequestHeaders) {
    const value = req.get(name)
    if (value !== undefined) headers[name] = value
  }
  if (apiKey) headers.authorization = `Bearer ${apiKey}`
  return headers
}

async function relayError(res: Response, response: globalThis.Response): Promise<void> {
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {}
  const error = (body as { error?: { message?: unknown } } | undefined)?.error
  if (error && typeof error.message === 'string') {
    res.json(body)
    return
  }
  res.json({
    error: {
      message: `Upstream answered ${response.status}: ${text.slice(0, 200)}`,
      type: response.status >= 500 ? 'upstream_error' : 'invalid_request_error',
      code: `upstream_${response.status}`,
      param: null,
    },
  })
}

async function relayJson(res: Response, response: globalThis.Response): Promise<void> {
  const bytes = Buffer.from(await response.arrayBuffer())
  try {
    JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new MeterError({
      status: 502,
      type: 'upstream_error',
      code: 'upstream_invalid_json',
      message: 'The upstream answered with invalid JSON.',
    })
  }
  res.end(bytes)
}

async function relayStream(
  req: Request,
  res: Response,
  response: globalThis.Response,
  addedUsage: boolean,
  controller: AbortController,
): Promise<void> {
  res.flushHeaders()
  const write = (bytes: Uint8Array) => {
    if (!res.write(bytes) && !res.destroyed)
      return new Promise<void>((resolve) => res.once('drain', resolve))
  }
  // With include_usage added, the usage chunk is removed before the client sees it: read it here.
  const observer = addedUsage ? createStreamObserver('chat') : undefined
  const parser = observer ? createSseParser(observer.onEvent) : undefined
  const pending: Uint8Array[] = []
  const stripper = addedUsage
    ? createIncludeUsageStripper((bytes) => pending.push(bytes))
    : undefined
  if (!response.body) return void res.end()
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      if (stripper) {
        parser!.push(chunk)
        stripper.push(chunk)
        for (const bytes of pending.splice(0)) await write(bytes)
      } else await write(chunk)
    }
    stripper?.end()
    for (const bytes of pending.splice(0)) await write(bytes)
  } catch (error) {
    if (!controller.signal.aborted) throw error
  }
  if (observer && req.rma) {
    parser!.end()
    const seen = observer.result()
    if (seen.usage) req.rma.upstreamUsage = { usage: seen.usage, model: seen.model }
  }
  res.end()
}

function upstreamFailure(error: unknown, controller: AbortController): MeterError {
  const reason = controller.signal.reason as Error | undefined
  if (controller.signal.aborted && reason?.message === 'timeout')
    return new MeterError({
      status: 504,
      type: 'timeout_error',
      code: 'upstream_timeout',
      message: 'The upstream did not answer in time.',
    })
  return new MeterError({
    status: 502,
    type: 'upstream_error',
    code: 'upstream_unreachable',
    message: 'The upstream could not be reached.',
    cause: error,
  })
}
