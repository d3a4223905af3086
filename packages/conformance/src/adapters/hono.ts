import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { openaiProxy, rmaMeter, rmaRoutes } from '@rma/hono'
import { createMeter } from '@rma/meter'
import { Hono } from 'hono'
import type { ConformanceAdapter } from '../ConformanceAdapter.js'
import { closeServer } from '../closeServer.js'

/** `@rma/hono` served by `@hono/node-server`: `rmaRoutes`, `rmaMeter`, `openaiProxy` on `/v1/*`. */
export const hono: ConformanceAdapter = {
  name: 'hono',
  async start({ meter: meterOptions, proxy }) {
    const meter = createMeter(meterOptions)
    const app = new Hono()
    app.use(rmaRoutes({ meter }))
    app.use(rmaMeter(meter))
    app.post('/v1/*', openaiProxy(proxy))
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
    if (!server.listening) await once(server, 'listening')
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => closeServer(server),
    }
  },
}
