import { createRmaRoutes, toWebRequest } from '@rma/meter'
import type { FastifyPluginAsync } from 'fastify'
import { keepRawBodies } from './keepRawBodies.js'
import { openaiProxy } from './openaiProxy.js'
import type { RmaMeterPluginOptions } from './RmaMeterPluginOptions.js'

/**
 * Fastify plugin serving the meter: the `/rma` routes (`createRmaRoutes` of `@rma/meter`) and,
 * with `proxy`, `POST /v1/*` metered and forwarded upstream. Inside the plugin every body is
 * left unread for the meter ({@link keepRawBodies}); the app's other routes keep their parsers.
 *
 * @example
 * const meter = createMeter({ assetId, chainId, settlementContract, prices, store })
 * await fastify.register(rmaMeterPlugin, { meter, proxy: { upstream: 'https://api.openai.com/v1', apiKey } })
 */
export const rmaMeterPlugin: FastifyPluginAsync<RmaMeterPluginOptions> = async (
  fastify,
  options,
) => {
  keepRawBodies(fastify)
  if (options.routes !== false) {
    const routes = createRmaRoutes({ ...options.routes, meter: options.meter })
    fastify.all('/rma/*', async (request, reply) => {
      const response = await routes(toWebRequest(request.raw))
      if (response) return reply.send(response)
      return reply.callNotFound()
    })
  }
  if (options.proxy) fastify.post('/v1/*', openaiProxy(options.meter, options.proxy))
}
