import { canonicalPath, createSseParser, createStreamObserver } from '@rma/core'
import {
  createIncludeUsageStripper,
  defaultProxyRoutes,
  MeterError,
  resolveProxyRoute,
} from '@rma/meter'
import type { Request, RequestHandler, Response } from 'express'
import { Agent, fetch as undiciFetch } from 'undici'
import { clientGone } from './clientGone.js'
import { endStreamWithError } from './endStreamWithError.js'
import { readRawBody } from './readRawBody.js'
import { sendError } from './sendError.js'

export type OpenAIProxyOptions = {
  /** Base URL of an OpenAI-compatible API, including its version path: `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`. */
  upstream: string
  /** Sent upstream as `Authorization: Bearer <apiKey>` (as `x-api-key` on Anthropic's `/messages`). The client's own Authorization is never forwarded. */
  apiKey?: string
  /** Injected fetch (default: global fetch). */
  fetch?: typeof fetch
  /** Give up connecting to the upstream after this many milliseconds (default 10 s). */
  connectTimeoutMs?: number
  /**
   * Give up when the upstream has not started answering (its response headers) this many
   * milliseconds after the request was sent (default 10 minutes: a non-streamed answer of a
   * reasoning model can take minutes to start).
   */
  firstByteTimeoutMs?: number
  /**
   * Give up when the upstream sends nothing for this many milliseconds while its body is being
   * read (default 5 minutes). A long stream that keeps sending is never cut.
   */
  idleTimeoutMs?: number
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
  /**
   * Upstream-relative paths forwarded (after one leading `/v1` is removed from the request's
   * `canonicalPath`); any other route is refused with a 404 in OpenAI's shape. Default: the
   * four routes the meter prices (`/chat/completions`, `/completions`, `/responses`,
   * `/embeddings`).
   */
  routes?: readonly string[]
  /**
   * A call the meter did not admit (no `req.rma`): `'refuse'` answers 500 and forwards nothing
   * (default: the provider's key serves only metered calls); `'forward'` proxies it anyway, for
   * a proxy used without the meter.
   */
  unmetered?: 'refuse' | 'forward'
  /** The provider's own `OpenAI-Organization` / `OpenAI-Project`; the caller's are never forwarded. */
  organization?: string
  project?: string
}

// Never the caller's `openai-organization` / `openai-project`: with the provider's key they
// would bill the caller's choice of the provider's organisations and projects.
const forwardedRequestHeaders = [
  'content-type',
  'accept',
  'openai-beta',
  'user-agent',
  // Anthropic's API version and feature flags (its SDK always sends the version).
  'anthropic-version',
  'anthropic-beta',
]
const forwardedResponseHeaders = [
  'content-type',
  'x-request-id',
  // Anthropic's request id.
  'request-id',
  'openai-processing-ms',
  'openai-version',
  'openai-model',
  'cache-control',
  // A client backs off as the upstream asks (the openai SDK reads both).
  'retry-after',
  'retry-after-ms',
]
/** Rate-limit state of the provider's key (`x-ratelimit-limit-requests`, …), forwarded as is. */
const forwardedResponseHeaderPrefix = 'x-ratelimit-'

/**
 * A streaming pass-through to an OpenAI-compatible upstream (OpenAI, vLLM, Ollama, LM Studio).
 * It spends the provider's key only on calls the meter admitted, on allow-listed `routes`, and
 * sends the upstream the request's `canonicalPath` (what was metered), never the raw path;
 * anything else is refused in OpenAI's error shape.
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
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000
  const firstByteTimeoutMs = options.firstByteTimeoutMs ?? 600_000
  const idleTimeoutMs = options.idleTimeoutMs ?? 300_000
  // Without an injected fetch, undici's own, with a connect timeout of ours (the first-byte and
  // idle timeouts are timers below, so they apply to any fetch).
  const doFetch =
    options.fetch ??
    (
      (dispatcher) => (url: string, init: RequestInit) =>
        undiciFetch(url, {
          ...(init as object),
          dispatcher,
        }) as unknown as Promise<globalThis.Response>
    )(new Agent({ connect: { timeout: connectTimeoutMs }, headersTimeout: 0, bodyTimeout: 0 }))
  const drain = options.onClientAbort === 'drain'
  const includeUsage = options.includeUsage ?? true
  const routes = {
    routes: new Set((options.routes ?? defaultProxyRoutes).map((r) => canonicalPath(r) ?? r)),
    unmetered: options.unmetered ?? 'refuse',
  } as const

  return async function openaiProxyHandler(req: Request, res: Response) {
    const controller = new AbortController()
    const timer = createUpstreamTimer(controller)
    // Set once the upstream's answer was read to its end: aborting then would cut nothing.
    let relayed = false
    if (req.rma && drain) req.rma.draining = true
    res.on('close', () => {
      // A response the meter ended at its terminator stops its own body reader (relayStream);
      // a client that left early aborts the call, unless draining.
      if (relayed || res.writableFinished) return
      if (!drain) controller.abort(new Error('client closed'))
    })
    try {
      const path = resolveProxyRoute(req, routes)
      const { body, addedUsage } = await requestBody(req, path, includeUsage)
      // A client that already left gets nothing forwarded: the upstream would do the work
      // (and the provider pay for it) for nobody.
      if (clientGone(req)) return
      const query = req.originalUrl.includes('?')
        ? req.originalUrl.slice(req.originalUrl.indexOf('?'))
        : ''
      let response: globalThis.Response
      timer.arm('first-byte', firstByteTimeoutMs)
      try {
        response = await doFetch(`${upstream}${path}${query}`, {
          method: req.method,
          headers: requestHeaders(req, options, path),
          body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
          signal: controller.signal,
        })
      } catch (error) {
        throw upstreamFailure(error, controller)
      }
      timer.arm('idle', idleTimeoutMs)
      res.status(response.status)
      for (const [name, value] of response.headers)
        if (
          forwardedResponseHeaders.includes(name) ||
          name.startsWith(forwardedResponseHeaderPrefix)
        )
          res.setHeader(name, value)
      const isStream = (response.headers.get('content-type') ?? '').includes('text/event-stream')
      if (response.status >= 400) return await relayError(res, response, timer, idleTimeoutMs)
      if (!isStream) return await relayJson(res, response, timer, idleTimeoutMs)
      await relayStream(req, res, response, addedUsage, controller, timer, idleTimeoutMs)
    } catch (error) {
      sendError(res, error instanceof MeterError ? error : upstreamFailure(error, controller))
    } finally {
      relayed = true
      timer.clear()
    }
  }
}

/** The one timer of an upstream call: first byte, then idle between body reads. */
type UpstreamTimer = {
  arm(phase: 'first-byte' | 'idle', ms: number): void
  clear(): void
}

function createUpstreamTimer(controller: AbortController): UpstreamTimer {
  let timer: NodeJS.Timeout | undefined
  return {
    arm(phase, ms) {
      if (timer) clearTimeout(timer)
      if (ms > 0 && Number.isFinite(ms))
        timer = setTimeout(() => controller.abort(new UpstreamTimeout(phase, ms)), ms)
    },
    clear() {
      if (timer) clearTimeout(timer)
    },
  }
}

class UpstreamTimeout extends Error {
  constructor(
    readonly phase: 'first-byte' | 'idle',
    readonly ms: number,
  ) {
    super('timeout')
  }
}

/** Reads a body to its end, re-arming the idle timer at each piece. */
async function readAll(
  response: globalThis.Response,
  timer: UpstreamTimer,
  idleTimeoutMs: number,
): Promise<Buffer> {
  const parts: Uint8Array[] = []
  if (response.body)
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      timer.arm('idle', idleTimeoutMs)
      parts.push(chunk)
    }
  return Buffer.concat(parts)
}

/**
 * The bytes to send upstream: the meter's exact bytes, else a body parser's result, else the
 * request read here (the proxy also works alone, without the meter or a body parser).
 */
async function requestBody(
  req: Request,
  path: string,
  includeUsage: boolean,
): Promise<{ body: Buffer; addedUsage: boolean }> {
  let raw: Buffer
  // Only the members read here (the meter parsed a large body off the server thread).
  let body: Record<string, unknown> | undefined
  if (req.rma) {
    raw = req.rma.rawBody
    body = req.rma.fields
  } else if (req.body !== undefined) {
    raw = Buffer.from(JSON.stringify(req.body))
    body = req.body as Record<string, unknown>
  } else {
    raw = (await readRawBody(req, { limit: 10 * 1024 * 1024, timeoutMs: 30_000 })).raw
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>
    } catch {
      body = undefined
    }
  }
  const isChat = path.endsWith('/chat/completions')
  const options = body?.stream_options as { include_usage?: unknown } | undefined
  if (!includeUsage || !isChat || body?.stream !== true || options?.include_usage === true)
    return { body: raw, addedUsage: false }
  // Without `stream_options` the member is spliced into the bytes as sent: re-serialising an
  // 8 MiB prompt costs the server thread 40–100 ms, the splice one copy.
  const spliced =
    body && !Object.hasOwn(body, 'stream_options') ? spliceIncludeUsage(raw) : undefined
  if (spliced) return { body: spliced, addedUsage: true }
  // The whole body this time (a large one is parsed again here: this path is rare).
  const whole = req.rma ? req.rma.body : body
  const withUsage = { ...whole, stream_options: { ...(options ?? {}), include_usage: true } }
  return { body: Buffer.from(JSON.stringify(withUsage)), addedUsage: true }
}

const includeUsageMember = Buffer.from('"stream_options":{"include_usage":true}')
const comma = Buffer.from(',')

/**
 * `raw` with `"stream_options":{"include_usage":true}` as the first member of its top-level
 * object, or undefined when the bytes do not start with an object (after JSON whitespace).
 * Only for a body whose parsed form has no `stream_options`: no key is then overridden.
 */
function spliceIncludeUsage(raw: Buffer): Buffer | undefined {
  const isSpace = (byte: number | undefined) =>
    byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d
  let open = 0
  while (isSpace(raw[open])) open++
  if (raw[open] !== 0x7b) return undefined
  let next = open + 1
  while (isSpace(raw[next])) next++
  if (next >= raw.length) return undefined
  const empty = raw[next] === 0x7d
  const head = raw.subarray(0, open + 1)
  const tail = raw.subarray(open + 1)
  return Buffer.concat(
    empty ? [head, includeUsageMember, tail] : [head, includeUsageMember, comma, tail],
  )
}

function requestHeaders(
  req: Request,
  options: OpenAIProxyOptions,
  path: string,
): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const name of forwardedRequestHeaders) {
    const value = req.get(name)
    if (value !== undefined) headers[name] = value
  }
  if (options.organization) headers['openai-organization'] = options.organization
  if (options.project) headers['openai-project'] = options.project
  // Anthropic's Messages API takes its key in `x-api-key`.
  if (options.apiKey && path === '/messages') headers['x-api-key'] = options.apiKey
  else if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`
  return headers
}

async function relayError(
  res: Response,
  response: globalThis.Response,
  timer: UpstreamTimer,
  idleTimeoutMs: number,
): Promise<void> {
  const text = (await readAll(response, timer, idleTimeoutMs)).toString('utf8')
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

async function relayJson(
  res: Response,
  response: globalThis.Response,
  timer: UpstreamTimer,
  idleTimeoutMs: number,
): Promise<void> {
  const bytes = await readAll(response, timer, idleTimeoutMs)
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
  timer: UpstreamTimer,
  idleTimeoutMs: number,
): Promise<void> {
  res.flushHeaders()
  const write = (bytes: Uint8Array) => {
    if (!res.write(bytes) && !res.destroyed && !res.writableEnded)
      return new Promise<void>((resolve) => {
        res.once('drain', resolve)
        res.once('close', resolve)
      })
  }
  // With include_usage added, the usage chunk is removed before the client sees it: read it
  // here, and hand it to the meter before the bytes that follow it (`[DONE]`) are written, so
  // the receipt is settled at the terminator, not when the upstream's body ends.
  const observer = addedUsage ? createStreamObserver('chat') : undefined
  const parser = observer ? createSseParser(observer.onEvent) : undefined
  const pending: Uint8Array[] = []
  const stripper = addedUsage
    ? createIncludeUsageStripper((bytes) => pending.push(bytes))
    : undefined
  const handOver = () => {
    const seen = observer?.result()
    if (req.rma && seen?.usage && !req.rma.upstreamUsage)
      req.rma.upstreamUsage = { usage: seen.usage, model: seen.model }
  }
  if (!response.body) return void res.end()
  const reader = response.body.getReader()
  // Once the meter ended the response at its terminator nothing more is delivered: stop
  // reading the upstream's body (it may pause or keep going after `[DONE]`).
  // A body already read to its end is left alone: one turn later, a body that had arrived
  // whole has finished without being cancelled (cancelling a finished upstream trips undici).
  let ended = false
  res.once('close', () => {
    if (res.writableFinished)
      setImmediate(() => {
        if (!ended) reader.cancel().catch(() => undefined)
      })
  })
  try {
    for (;;) {
      const { done, value: chunk } = await reader.read()
      if (done) {
        ended = true
        break
      }
      timer.arm('idle', idleTimeoutMs)
      if (stripper) {
        parser!.push(chunk)
        handOver()
        stripper.push(chunk)
        for (const bytes of pending.splice(0)) await write(bytes)
      } else await write(chunk)
    }
    stripper?.end()
    parser?.end()
    handOver()
    for (const bytes of pending.splice(0)) await write(bytes)
  } catch (error) {
    // The client left (or the meter ended the stream): nothing to tell anyone.
    if (res.writableEnded || res.destroyed) return void res.end()
    // Cut by a timeout or a reset: end with an error event the SDK raises, never a clean end.
    return endStreamWithError(res, upstreamFailure(error, controller, true))
  }
  res.end()
}

function upstreamFailure(
  error: unknown,
  controller: AbortController,
  midStream = false,
): MeterError {
  const reason = controller.signal.reason
  if (controller.signal.aborted && reason instanceof UpstreamTimeout)
    return new MeterError({
      status: 504,
      type: 'timeout_error',
      code: 'upstream_timeout',
      message:
        reason.phase === 'first-byte'
          ? `The upstream did not start answering within ${reason.ms} ms.`
          : `The upstream sent nothing for ${reason.ms} ms.`,
    })
  if (connectTimedOut(error))
    return new MeterError({
      status: 504,
      type: 'timeout_error',
      code: 'upstream_connect_timeout',
      message: 'The upstream could not be connected to in time.',
    })
  if (midStream)
    return new MeterError({
      status: 502,
      type: 'upstream_error',
      code: 'upstream_reset',
      message: 'The upstream closed the stream before it completed.',
      cause: error,
    })
  return new MeterError({
    status: 502,
    type: 'upstream_error',
    code: 'upstream_unreachable',
    message: 'The upstream could not be reached.',
    cause: error,
  })
}

function connectTimedOut(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++)
    if ((e as { code?: unknown }).code === 'UND_ERR_CONNECT_TIMEOUT') return true
  return false
}
