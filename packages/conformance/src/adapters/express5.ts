import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { openaiProxy, rmaMeter, rmaRouter } from '@rma/express'
import express from 'express'
import type { ConformanceAdapter } from '../ConformanceAdapter.js'
import { closeServer } from '../closeServer.js'

/** `@rma/express` on Express 5: `app.use(meter)`, `rmaRouter`, `openaiProxy` on `/v1/*path`. */
export const express5: ConformanceAdapter = {
  name: 'express5',
  async start({ meter: meterOptions, proxy }) {
    const meter = rmaMeter(meterOptions)
    const app = express()
    app.use(meter)
    app.use(rmaRouter({ meter }))
    app.post('/v1/*path', openaiProxy(proxy))
    const server: Server = app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => closeServer(server),
    }
  },
}
