import { createMeter } from '@rma/meter'
import { serveFetch } from '@rma/meter/testing'
import { openaiProxyRoute, rmaRoutesRoute } from '@rma/next'
import type { ConformanceAdapter } from '../ConformanceAdapter.js'

/**
 * `@rma/next` route handlers behind a real node:http server that turns each Node request into a
 * web `Request` (body streamed, `signal` aborted when the client leaves) and writes the web
 * `Response` back with backpressure, as `next start` does (`serveFetch`), routing as an app with
 * two catch-all routes would: `app/rma/[...path]/route.ts` (`GET`/`POST` = `rmaRoutesRoute`)
 * and `app/[...path]/route.ts` (`POST` = `openaiProxyRoute`), the most exposed mount: every
 * other path reaches the meter.
 */
export const next: ConformanceAdapter = {
  name: 'next',
  async start({ meter: meterOptions, proxy }) {
    const meter = createMeter(meterOptions)
    const rma = rmaRoutesRoute({ meter })
    const POST = openaiProxyRoute(meter, proxy)
    const served = await serveFetch((request) => {
      if (new URL(request.url).pathname.startsWith('/rma/')) return rma(request)
      if (request.method === 'POST') return POST(request)
      return new Response(null, { status: 405 })
    })
    return { url: served.url, close: served.close }
  },
}
