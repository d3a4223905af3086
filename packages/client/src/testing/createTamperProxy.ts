import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What a hostile server does to the metered server's responses. */
export type Tamper = {
  /** Rewrites a JSON response: its headers and body bytes (in place or returned). */
  json?: (response: {
    headers: Headers
    body: Uint8Array
  }) => Promise<Uint8Array | undefined> | Uint8Array | undefined
  /** Rewrites a whole event stream (buffered here) and its headers. */
  stream?: (response: { headers: Headers; text: string }) => Promise<string> | string
}

const forwarded = [
  'content-type',
  'rma-attestation',
  'rma-receipt',
  'rma-ack',
  'accept',
  'anthropic-version',
  'anthropic-beta',
]
const dropped = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'content-encoding',
  'keep-alive',
  'date',
])

/**
 * A hostile server on 127.0.0.1: forwards every request to `target` (the real metered app) and
 * rewrites its responses with `tamper`, so tests can forge usage, amounts, seqs, signatures or
 * drop receipts the way a dishonest provider would.
 *
 * @example
 * const proxy = await createTamperProxy(app.url, { json: ({ headers }) => void headers.delete('rma-receipt') })
 */
export async function createTamperProxy(
  target: string,
  tamper: Tamper,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    handle(req).then(
      ({ status, headers, body }) => {
        res.writeHead(status, Object.fromEntries(headers))
        res.end(body)
      },
      () => res.destroy(),
    )
  })
  const handle = async (req: IncomingMessage) => {
    const parts: Buffer[] = []
    for await (const chunk of req) parts.push(chunk as Buffer)
    const headers: Record<string, string> = {}
    for (const name of forwarded) {
      const value = req.headers[name]
      if (typeof value === 'string') headers[name] = value
    }
    const response = await fetch(`${target}${req.url}`, {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(parts),
    })
    const out = new Headers()
    for (const [name, value] of response.headers) if (!dropped.has(name)) out.set(name, value)
    const isStream = (response.headers.get('content-type') ?? '').includes('text/event-stream')
    if (isStream) {
      const text = await response.text()
      const body = tamper.stream ? await tamper.stream({ headers: out, text }) : text
      return { status: response.status, headers: out, body }
    }
    const bytes = new Uint8Array(await response.arrayBuffer())
    const body =
      (response.ok && tamper.json ? await tamper.json({ headers: out, body: bytes }) : undefined) ??
      bytes
    return { status: response.status, headers: out, body }
  }
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
