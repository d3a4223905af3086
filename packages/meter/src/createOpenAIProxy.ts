import { Buffer } from 'node:buffer'
import { canonicalPath, createSseParser, createStreamObserver } from '@rma/core'
import { Agent, fetch as undiciFetch } from 'undici'
import { errorResponse } from './errorResponse.js'
import { MeterError } from './errors.js'
import type { HeaderSource } from './HeaderSource.js'
import type { MeteredHandler } from './MeteredHandler.js'
import type { RmaRequestContext } from './RmaRequestContext.js'
import { defaultProxyRoutes, resolveProxyRoute } from './resolveProxyRoute.js'
import { createIncludeUsageStripper } from './sse/createIncludeUsageStripper.js'
import { sseErrorFrame } from './sse/sseErrorFrame.js'

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
   * A call the meter did not admit (no `call`; on Express no `req.rma`): `'refuse'` answers 500 and forwards nothing
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
 * A request as the proxy reads it, whatever the framework: `meter.fetch`'s web `Request`, or
 * Express's `req` (whose raw target it keeps, so the route is checked on what was sent).
 */
export type ProxyRequest = {
  method: string
  /** The request target (path and query) as sent: what the route and the query come from. */
  target: string
  headers: HeaderSource
  /**
   * The body bytes of a call the meter did not admit (with a call, the bytes forwarded are the
   * call's `rawBody`, exactly what was metered).
   */
  body(): Promise<Uint8Array>
  /** Aborts when the client leaves. */
  signal: AbortSignal
}

/** The web proxy handler, with the same proxy over any framework's request. */
export type OpenAIProxy = MeteredHandler & {
  /** Forwards one call: the answer as a web Response (an OpenAI-shaped error when refused). */
  forward(request: ProxyRequest, call: RmaRequestContext | undefined): Promise<Response>
}

/**
 * A streaming pass-through to an OpenAI-compatible upstream (OpenAI, vLLM, Ollama, LM Studio,
 * Anthropic's Messages API), as a web handler for `meter.fetch`. It spends the provider's key
 * only on calls the meter admitted, on allow-listed `routes`, and sends the upstream the
 * request's `canonicalPath` (what was metered), never the raw path; anything else is refused
 * in OpenAI's error shape. Request bytes go upstream unchanged (unless `includeUsage` must be
 * added); stream bytes come back chunk by chunk as the client reads them. Upstream errors,
 * timeouts and non-JSON bodies reach the client as OpenAI-shaped errors, so the meter charges
 * nothing for them. It reports the usage it removes from a stream with `call.report` and asks
 * to drain with `call.drain()` (`onClientAbort: 'drain'`). A stream cut mid-way errors with the
 * `MeterError` saying why (the meter then ends it with an SSE error event); without a meter it
 * ends with that event itself.
 *
 * @example
 * const proxy = createOpenAIProxy({ upstream: 'https://api.openai.com/v1', apiKey: process.env.OPENAI_API_KEY })
 * const response = await meter.fetch(request, proxy)
 */
export function createOpenAIProxy(options: OpenAIProxyOptions): OpenAIProxy {
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

  async function forward(
    request: ProxyRequest,
    call: RmaRequestContext | undefined,
  ): Promise<Response> {
    const controller = new AbortController()
    const timer = createUpstreamTimer(controller)
    if (call && drain) call.drain()
    // A client that leaves aborts the call, unless draining (then the body is read to its end).
    const onAbort = () => {
      if (!drain) controller.abort(new Error('client closed'))
    }
    request.signal.addEventListener('abort', onAbort, { once: true })
    const settle = () => {
      timer.clear()
      request.signal.removeEventListener('abort', onAbort)
    }
    const forwarded = new Headers()
    try {
      const path = resolveProxyRoute(
        { url: request.target, method: request.method, rma: call },
        routes,
      )
      const { body, addedUsage } = await upstreamBody(request, call, path, includeUsage)
      // A client that already left gets nothing forwarded: the upstream would do the work
      // (and the provider pay for it) for nobody.
      if (request.signal.aborted) {
        settle()
        return errorResponse(clientGone())
      }
      const query = request.target.includes('?')
        ? request.target.slice(request.target.indexOf('?'))
        : ''
      let response: globalThis.Response
      timer.arm('first-byte', firstByteTimeoutMs)
      try {
        response = await doFetch(`${upstream}${path}${query}`, {
          method: request.method,
          headers: upstreamHeaders(request.headers, options, path),
          body: request.method === 'GET' || request.method === 'HEAD' ? undefined : body,
          signal: controller.signal,
        })
      } catch (error) {
        throw upstreamFailure(error, controller)
      }
      timer.arm('idle', idleTimeoutMs)
      for (const [name, value] of response.headers)
        if (
          forwardedResponseHeaders.includes(name) ||
          name.startsWith(forwardedResponseHeaderPrefix)
        )
          forwarded.set(name, value)
      const isStream = (response.headers.get('content-type') ?? '').includes('text/event-stream')
      if (response.status >= 400) {
        const text = (await readAll(response, timer, idleTimeoutMs)).toString('utf8')
        settle()
        return jsonResponse(response.status, forwarded, upstreamErrorBody(response.status, text))
      }
      if (!isStream) {
        const bytes = await readAll(response, timer, idleTimeoutMs)
        settle()
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
        return new Response(bytes, { status: response.status, headers: forwarded })
      }
      const relayed = relayStream(response, {
        call,
        addedUsage,
        controller,
        timer,
        idleTimeoutMs,
        done: settle,
      })
      return new Response(relayed, { status: response.status, headers: forwarded })
    } catch (error) {
      settle()
      const failure = error instanceof MeterError ? error : upstreamFailure(error, controller)
      const answer = errorResponse(failure)
      // The upstream's headers that were already chosen stay (its request id, rate limits).
      for (const [name, value] of forwarded)
        if (name !== 'content-type') answer.headers.set(name, value)
      return answer
    }
  }

  const handler = (request: Request, call: Parameters<MeteredHandler>[1]) =>
    forward(
      {
        method: request.method,
        target: targetOf(request.url),
        headers: request.headers,
        body: async () => new Uint8Array(await request.arrayBuffer()),
        signal: request.signal,
      },
      call as RmaRequestContext | undefined,
    )
  return Object.assign(handler, { forward })
}

/** The path and query of a URL, as a request target. */
function targetOf(url: string): string {
  const parsed = new URL(url)
  return `${parsed.pathname}${parsed.search}`
}

/** The one timer of an upstream call: first byte, then idle between body reads. */
type UpstreamTimer = {
  arm(phase: 'first-byte' | 'idle', ms: number): void
  clear(): void
}

function createUpstreamTimer(controller: AbortController): UpstreamTimer {
  let timer: ReturnType<typeof setTimeout> | undefined
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

/** An upstream's error answer in OpenAI's shape: its own when it has one, else one saying what it sent. */
function upstreamErrorBody(status: number, text: string): unknown {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {}
  const error = (body as { error?: { message?: unknown } } | undefined)?.error
  if (error && typeof error.message === 'string') return body
  return {
    error: {
      message: `Upstream answered ${status}: ${text.slice(0, 200)}`,
      type: status >= 500 ? 'upstream_error' : 'invalid_request_error',
      code: `upstream_${status}`,
      param: null,
    },
  }
}

function jsonResponse(status: number, headers: Headers, body: unknown): Response {
  const out = new Headers(headers)
  out.set('content-type', 'application/json; charset=utf-8')
  return new Response(JSON.stringify(body), { status, headers: out })
}

/**
 * The bytes to send upstream: the meter's exact bytes for an admitted call, else the
 * request's own body (the proxy also works alone, without the meter).
 */
async function upstreamBody(
  request: ProxyRequest,
  call: RmaRequestContext | undefined,
  path: string,
  includeUsage: boolean,
): Promise<{ body: Buffer; addedUsage: boolean }> {
  let raw: Buffer
  // Only the members read here (the meter parsed a large body off the server thread).
  let body: Record<string, unknown> | undefined
  if (call) {
    raw = call.rawBody
    body = call.fields
  } else {
    const bytes = await request.body()
    raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
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
  const whole = call ? call.body : body
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

/** The request headers sent upstream: an allow-list, and the provider's own credentials. */
function upstreamHeaders(
  source: HeaderSource,
  options: OpenAIProxyOptions,
  path: string,
): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const name of forwardedRequestHeaders) {
    const value = source.get(name)
    if (value !== undefined && value !== null) headers[name] = value
  }
  if (options.organization) headers['openai-organization'] = options.organization
  if (options.project) headers['openai-project'] = options.project
  // Anthropic's Messages API takes its key in `x-api-key`.
  if (options.apiKey && path === '/messages') headers['x-api-key'] = options.apiKey
  else if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`
  return headers
}

/**
 * The upstream's event stream as the client gets it, read as the client reads: with
 * include_usage added, the usage chunk is removed, and reported to the meter before the bytes
 * that follow it (`[DONE]`) are given out, so the receipt is settled at the terminator, not
 * when the upstream's body ends. Cancelling it (the client left, or the meter ended the
 * response at its terminator) stops reading the upstream.
 */
function relayStream(
  response: globalThis.Response,
  context: {
    call: RmaRequestContext | undefined
    addedUsage: boolean
    controller: AbortController
    timer: UpstreamTimer
    idleTimeoutMs: number
    done: () => void
  },
): ReadableStream<Uint8Array> {
  const { call, addedUsage, controller, timer, idleTimeoutMs, done } = context
  const observer = addedUsage ? createStreamObserver('chat') : undefined
  const parser = observer ? createSseParser(observer.onEvent) : undefined
  const pending: Uint8Array[] = []
  const stripper = addedUsage
    ? createIncludeUsageStripper((bytes) => pending.push(bytes))
    : undefined
  const handOver = () => {
    const seen = observer?.result()
    if (call && seen?.usage) call.report({ usage: seen.usage, model: seen.model })
  }
  const reader = response.body?.getReader()
  // A body read to its end is left alone (cancelling a finished upstream trips undici).
  let ended = false
  return new ReadableStream<Uint8Array>({
    async pull(out) {
      try {
        while (pending.length === 0) {
          if (!reader) {
            ended = true
            break
          }
          const { done: finished, value: chunk } = await reader.read()
          if (finished) {
            ended = true
            stripper?.end()
            parser?.end()
            handOver()
            break
          }
          timer.arm('idle', idleTimeoutMs)
          if (stripper) {
            parser!.push(chunk)
            handOver()
            stripper.push(chunk)
          } else pending.push(chunk)
        }
      } catch (error) {
        done()
        // Cut by a timeout or a reset: behind the meter the stream errors with the reason (the
        // meter ends it with an SSE error event); alone, it ends with that event itself.
        const failure = upstreamFailure(error, controller, true)
        for (const bytes of pending.splice(0)) out.enqueue(bytes)
        if (call) return out.error(failure)
        out.enqueue(sseErrorFrame(failure))
        return out.close()
      }
      for (const bytes of pending.splice(0)) out.enqueue(bytes)
      if (ended) {
        done()
        out.close()
      }
    },
    cancel() {
      done()
      if (!ended) reader?.cancel().catch(() => undefined)
    },
  })
}

function clientGone(): MeterError {
  return new MeterError({
    status: 499,
    type: 'invalid_request_error',
    code: 'rma_client_gone',
    message: 'The client closed the connection before the call was forwarded.',
  })
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
