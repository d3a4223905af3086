import type { AddressInfo } from 'node:net'
import { keepRawBodies, openaiProxy } from '@rma/fastify'
import { createMeter } from '@rma/meter'
import Fastify from 'fastify'
import type { ConformanceAdapter } from '../ConformanceAdapter.js'

/** `@rma/fastify` on Fastify 5: `rmaMeterPlugin` with the proxy on `POST /v1/*` and `/rma/*`. */
export const fastify: ConformanceAdapter = {
  name: 'fastify',
  async start({ meter: meterOptions, proxy }) {
    const app = Fastify()
    const meter = createMeter(meterOptions)
    await app.register(async (metered) => {
      keepRawBodies(metered)
      metered.post('/v1/*', openaiProxy(meter, proxy))
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    return {
      url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
      close: async () => {
        app.server.closeAllConnections()
        await app.close()
      },
    }
  },
}
