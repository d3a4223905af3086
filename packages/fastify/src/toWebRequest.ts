import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'

/**
 * The web `Request` of a Node request whose body has not been read: the raw headers, the
 * request target as sent (on a fixed origin: the `Host` header is the client's to choose and
 * must not move the path), the body streamed, not buffered.
 *
 * @example
 * const request = toWebRequest(fastifyRequest.raw, controller.signal)
 */
export function toWebRequest(raw: IncomingMessage, signal?: AbortSignal): Request {
  const headers = new Headers()
  for (let i = 0; i + 1 < raw.rawHeaders.length; i += 2)
    headers.append(raw.rawHeaders[i]!, raw.rawHeaders[i + 1]!)
  const method = raw.method ?? 'GET'
  const body = method === 'GET' || method === 'HEAD' ? null : Readable.toWeb(raw)
  return new Request(new URL(raw.url ?? '/', 'http://localhost'), {
    method,
    headers,
    body: body as ReadableStream<Uint8Array> | null,
    ...(signal ? { signal } : {}),
    // Node's fetch needs it for a streamed body.
    ...({ duplex: 'half' } as object),
  })
}
