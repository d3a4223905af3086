import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { createMeter } from '@rma/meter'
import { openaiProxyRoute, rmaRoutesRoute } from '@rma/next'
import type { ConformanceAdapter } from '../ConformanceAdapter.js'
import { closeServer } from '../closeServer.js'

/**
 * `@rma/next` route handlers behind a real node:http server that turns each Node request into a
 * web `Request` (aborted when the client leaves) and writes the web `Response` back, as
 * `next start` does, routing as an app with two catch-all routes would:
 * `app/rma/[...path]/route.ts` (`GET`/`POST` = `rmaRoutesRoute`) and `app/[...path]/route.ts`
 * (`POST` = `openaiProxyRoute`), the most exposed mount: every other path reaches the meter.
 */
export const next: ConformanceAdapter = {
  name: 'next',
  async start({ meter: meterOptions, proxy }) {
    const meter = createMeter(meterOptions)
    const rma = rmaRoutesRoute({ meter })
    const POST = openaiProxyRoute(meter, proxy)
    const server = createServer(
      getRequestListener((request) => {
        if (new URL(request.url).pathname.startsWith('/rma/')) return rma(request)
        if (request.method === 'POST') return POST(request)
        return new Response(null, { status: 405 })
      }),
    )
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => closeServer(server),
    }
  },
}
