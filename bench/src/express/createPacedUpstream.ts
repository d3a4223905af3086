import { once } from 'node:events'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export type PacedUpstream = { url: string; close(): Promise<void> }

/**
 * An upstream that answers like a model: the fast fake upstream's exact answer, but its head
 * and first bytes only `latencyMs` after the request arrived (time to first token), and an SSE
 * answer's frames `frameGapMs` apart (tokens), not in one burst. It fetches the answer from
 * `fastUrl` at once and holds it back, so the answers carry the same bytes and usage as the
 * fast upstream's.
 */
export async function createPacedUpstream(
  fastUrl: string,
  options: { latencyMs: number; frameGapMs: number },
): Promise<PacedUpstream> {
  const fast = new URL(fastUrl)
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
  const server: Server = createServer((req, res) => {
    const arrived = performance.now()
    const up = httpRequest(
      {
        host: fast.hostname,
        port: fast.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: fast.host },
      },
      async (answer) => {
        const chunks: Buffer[] = []
        for await (const chunk of answer) chunks.push(chunk as Buffer)
        const body = Buffer.concat(chunks).toString()
        await sleep(Math.max(0, options.latencyMs - (performance.now() - arrived)))
        const headers = { ...answer.headers }
        const stream = String(headers['content-type']).startsWith('text/event-stream')
        if (!stream) {
          res.writeHead(answer.statusCode ?? 502, headers)
          res.end(body)
          return
        }
        delete headers['content-length']
        res.writeHead(answer.statusCode ?? 502, headers)
        const frames = body.split(/(?<=\n\n)/)
        for (const [i, frame] of frames.entries()) {
          if (res.destroyed) return
          if (i > 0) await sleep(options.frameGapMs)
          res.write(frame)
        }
        res.end()
      },
    )
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
