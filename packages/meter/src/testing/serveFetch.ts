import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A web handler as a server runs it: `signal` aborts when the client leaves. */
export type ServeFetchHandler = (
  request: Request,
  init: { signal: AbortSignal },
) => Response | Promise<Response>

export type ServedFetch = { url: string; server: Server; close(): Promise<void> }

/**
 * A real node:http server on 127.0.0.1 that converts each request to a web `Request` (its body
 * streamed, not buffered) and writes the handler's `Response` back chunk by chunk with
 * backpressure, the way web-standard frameworks (Next.js, Hono's Node server) do; the client
 * leaving aborts `signal` and cancels the response body.
 *
 * @example
 * const served = await serveFetch((request, { signal }) => meter.fetch(request, proxy, { signal }))
 */
export async function serveFetch(handler: ServeFetchHandler): Promise<ServedFetch> {
  const server = createServer(async (req, res) => {
    const controller = new AbortController()
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new Error('client closed'))
    })
    let response: Response
    try {
      response = await handler(toRequest(req, controller.signal, server), {
        signal: controller.signal,
      })
    } catch {
      res.statusCode = 500
      return void res.end()
    }
    res.statusCode = response.status
    for (const [name, value] of response.headers) res.appendHeader(name, value)
    if (!response.body) return void res.end()
    res.flushHeaders()
    const reader = response.body.getReader()
    controller.signal.addEventListener('abort', () => void reader.cancel().catch(() => {}))
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        if (!res.write(value) && !res.destroyed)
          await Promise.race([once(res, 'drain'), once(res, 'close')])
      }
      res.end()
    } catch {
      res.destroy()
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

function toRequest(req: IncomingMessage, signal: AbortSignal, server: Server): Request {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers))
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value)
  const { port } = server.address() as AddressInfo
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
  return new Request(`http://127.0.0.1:${port}${req.url}`, {
    method: req.method,
    headers,
    body: hasBody ? bodyStream(req) : undefined,
    signal,
    // A streamed request body (Node's fetch types call this member `duplex`).
    ...({ duplex: 'half' } as object),
  })
}

/** The request body as a web stream, read as the consumer pulls (cancelling it stops reading). */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let over = false
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on('data', (chunk: Buffer) => {
        if (over) return
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
        if ((controller.desiredSize ?? 0) <= 0) req.pause()
      })
      req.on('end', () => {
        if (over) return
        over = true
        controller.close()
      })
      req.on('error', (error) => {
        if (over) return
        over = true
        controller.error(error)
      })
    },
    pull() {
      req.resume()
    },
    cancel() {
      over = true
      req.pause()
    },
  })
}
