import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { openaiProxy, rmaMeter, rmaRouter } from '@rma/express'
import express4 from 'express4'
import type { ConformanceAdapter } from '../ConformanceAdapter.js'
import { closeServer } from '../closeServer.js'

/** `@rma/express` on Express 4 (path-to-regexp 0.1: `/v1/*`). */
export const express4Adapter: ConformanceAdapter = {
  name: 'express4',
  async start({ meter: meterOptions, proxy }) {
    const meter = rmaMeter(meterOptions)
    const app = express4()
    // Express 4's handler types differ from Express 5's; the middleware is the same function.
    app.use(meter as never)
    app.use(rmaRouter({ meter }) as never)
    app.post('/v1/*', openaiProxy(proxy) as never)
    const server = app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => closeServer(server),
    }
  },
}
