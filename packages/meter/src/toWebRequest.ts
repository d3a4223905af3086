import type { IncomingMessage } from 'node:http'

/**
 * The web `Request` of a Node request whose body has not been read: the raw headers, the
 * request target as sent (on a fixed origin: the `Host` header is the client's to choose and
 * must not move the path), the body streamed as it arrives, never buffered. Cancelling the body
 * (the meter refusing a call before reading it) only stops reading: the socket stays up for the
 * answer (see `closeUnreadBody`).
 *
 * @example
 * const request = toWebRequest(fastifyRequest.raw, controller.signal)
 */
export function toWebRequest(raw: IncomingMessage, signal?: AbortSignal): Request {
  const headers = new Headers()
  for (let i = 0; i + 1 < raw.rawHeaders.length; i += 2)
    headers.append(raw.rawHeaders[i]!, raw.rawHeaders[i + 1]!)
  const method = raw.method ?? 'GET'
  return new Request(new URL(raw.url ?? '/', 'http://localhost'), {
    method,
    headers,
    body: method === 'GET' || method === 'HEAD' ? null : bodyOf(raw),
    ...(signal ? { signal } : {}),
    // Node's fetch needs it for a streamed body.
    ...({ duplex: 'half' } as object),
  })
}

function bodyOf(raw: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      raw.on('data', (chunk: Buffer) => {
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
        if ((controller.desiredSize ?? 0) <= 0) raw.pause()
      })
      raw.once('end', () => controller.close())
      raw.once('error', (error) => controller.error(error))
      raw.pause()
    },
    pull() {
      raw.resume()
    },
    cancel() {
      raw.removeAllListeners('data')
      raw.pause()
    },
  })
}
