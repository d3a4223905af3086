import type { FastifyInstance } from 'fastify'

/**
 * Leaves every request body of this Fastify context unread, for the meter (it hashes the exact
 * bytes itself; Fastify's parsers would consume them first). Call it in the encapsulated
 * context of your metered routes: other contexts keep their parsers.
 *
 * @example
 * app.register(async (metered) => {
 *   keepRawBodies(metered)
 *   metered.post('/custom/chat', meteredHandler(meter, handler))
 * })
 */
export function keepRawBodies(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, _payload, done) => done(null))
}
