import { hashBytes, readResponseUsage } from '@rma/core'
import { callsByTarget } from './callRegistry.js'
import { type Call, createRmaEngine, type RmaClient } from './createRmaEngine.js'
import { ReceiptError } from './errors.js'
import { rmaByFetch } from './getRMA.js'
import type { RmaClientOptions } from './resolveClientConfig.js'

/** The parts of an axios request config the interceptors use (axios ^1). */
type AxiosConfig = {
  method?: string
  data?: unknown
  headers: { set(name: string, value: string): unknown; has?(name: string): boolean }
  transformResponse?: unknown
}

/** The parts of an axios response the interceptors use. */
type AxiosResponseLike = {
  status: number
  headers: Record<string, unknown> & { get?(name: string): unknown }
  config: AxiosConfig
}

/** What `rmaAxios` needs of an axios instance (axios ^1, without importing axios). */
export type AxiosLike = {
  getUri(config?: object): string
  interceptors: {
    // biome-ignore lint/suspicious/noExplicitAny: axios' own interceptor signatures differ by version.
    request: { use(onFulfilled: (config: any) => any): number }
    response: {
      // biome-ignore lint/suspicious/noExplicitAny: as above.
      use(onFulfilled: (response: any) => any, onRejected: (error: any) => any): number
    }
  }
}

const encoder = new TextEncoder()

/**
 * Adds RMA to an axios instance with a request and a response interceptor: each metered call
 * (POST with a JSON, string or Buffer body to an OpenAI endpoint) is attested over the exact
 * body bytes, and its JSON response's receipt is checked like `withRMA` does. A failed check
 * rejects the axios call with the `ReceiptError` (`onMismatch: 'throw'`) or emits `mismatch`.
 *
 * The request interceptor serialises an object body with `JSON.stringify` itself (axios would
 * send the same bytes), so register interceptors that change the body before calling
 * `rmaAxios` (axios runs request interceptors last-registered first). Streams
 * (`responseType: 'stream'`) are not checked: their receipts are at `GET /rma/receipts/:id`.
 *
 * @example
 * const api = rmaAxios(axios.create({ baseURL: 'https://provider.example/v1' }), options)
 * const res = await api.post('/chat/completions', { model, messages })
 * const { receipt } = await getReceipt(res)
 */
export function rmaAxios<instance extends AxiosLike>(
  axios: instance,
  options: RmaClientOptions,
): instance & { readonly rma: RmaClient } {
  const engine = createRmaEngine(options)
  const calls = new WeakMap<object, Call>()
  const raw = new WeakMap<object, unknown>()

  axios.interceptors.request.use(async (config: AxiosConfig) => {
    let url: URL
    try {
      url = new URL(axios.getUri(config))
    } catch {
      return config
    }
    if (!engine.config.metered(url, config.method ?? 'get')) return config
    let data = config.data
    if (isJsonValue(data)) {
      data = JSON.stringify(data)
      if (!config.headers.has?.('content-type'))
        config.headers.set('content-type', 'application/json')
    }
    // axios sends a JSON string trimmed (`stringifySafely`) and a Buffer as is.
    if (typeof data === 'string' && isJsonText(data) && isJsonType(config)) data = data.trim()
    const body =
      typeof data === 'string' ? encoder.encode(data) : isWholeBytes(data) ? data : undefined
    if (!body) return config
    config.data = data
    const { call, headers } = await engine.begin(url, body)
    for (const [name, value] of Object.entries(headers)) config.headers.set(name, value)
    calls.set(config, call)
    // The raw body, before axios parses it: what the meter hashed.
    const transforms = config.transformResponse
    config.transformResponse = [
      function capture(this: unknown, data: unknown) {
        raw.set(config, data)
        return data
      },
      ...(Array.isArray(transforms) ? transforms : transforms ? [transforms] : []),
    ]
    return config
  })

  axios.interceptors.response.use(
    async (response: AxiosResponseLike) => {
      const call = calls.get(response.config)
      if (!call) return response
      const header = (name: string) => {
        const value = response.headers.get?.(name) ?? response.headers[name]
        return typeof value === 'string' ? value : undefined
      }
      call.requestId = header('x-request-id')
      call.receiptId = header('rma-receipt-id')
      callsByTarget.set(response, call)
      const data = raw.get(response.config)
      const bytes =
        typeof data === 'string'
          ? encoder.encode(data)
          : data instanceof Uint8Array
            ? data
            : data instanceof ArrayBuffer
              ? new Uint8Array(data)
              : undefined
      if (!bytes || (header('content-type') ?? '').includes('text/event-stream')) {
        engine.skip(call, 'rmaAxios checks JSON responses only; fetch stream receipts by id.')
        return response
      }
      let json: unknown
      try {
        json = JSON.parse(new TextDecoder().decode(bytes))
      } catch {
        engine.skip(call, 'The response body is not JSON: the meter does not charge it.')
        return response
      }
      const reported = readResponseUsage(call.endpoint, json)
      const outcome = await engine.settle(call, {
        encoded: header('rma-receipt'),
        observed: {
          responseHash: hashBytes(bytes),
          usage: reported.usage,
          model: reported.model,
          failed: false,
        },
      })
      if (outcome instanceof ReceiptError && engine.config.onMismatch === 'throw') throw outcome
      return response
    },
    (error: { config?: object; response?: { status?: number } }) => {
      const call = error?.config ? calls.get(error.config) : undefined
      if (call) engine.skip(call, `The call failed (${error.response?.status ?? 'no response'}).`)
      throw error
    },
  )

  rmaByFetch.set(axios, engine.rma)
  Object.defineProperty(axios, 'rma', { value: engine.rma, enumerable: false, configurable: true })
  return axios as instance & { readonly rma: RmaClient }
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

function isJsonType(config: AxiosConfig): boolean {
  const type = (config.headers as { getContentType?(): unknown }).getContentType?.()
  return typeof type === 'string' && type.includes('application/json')
}

/** A Buffer, or a Uint8Array over its whole ArrayBuffer (axios sends a view's whole buffer). */
function isWholeBytes(data: unknown): data is Uint8Array {
  if (!(data instanceof Uint8Array)) return false
  if (typeof Buffer !== 'undefined' && Buffer.isBuffer(data)) return true
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
}

function isJsonValue(data: unknown): boolean {
  if (Array.isArray(data)) return true
  if (typeof data !== 'object' || data === null) return false
  const proto = Object.getPrototypeOf(data)
  return proto === Object.prototype || proto === null
}
