import type { AddressInfo } from 'node:net'
import { rmaMeterPlugin } from '@rma/fastify'
import { createMeter } from '@rma/meter'
import Fastify from 'fastify'
import type { ConformanceAdapter } from '../ConformanceAdapter.js'

/** `@rma/fastify` on Fastify 5: `rmaMeterPlugin` with the proxy on `POST /v1/*` and `/rma/*`. */
export const fastify: ConformanceAdapter = {
  name: 'fastify',
  async start({ meter: meterOptions, proxy }) {
    const app = Fastify()
    await app.register(rmaMeterPlugin, { meter: createMeter(meterOptions), proxy })
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
