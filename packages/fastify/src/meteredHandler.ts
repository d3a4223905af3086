import { closeUnreadBody, type Meter, type MeteredHandler, toWebRequest } from '@rma/meter'
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * A Fastify route handler metered by `meter.fetch`: `request.raw` becomes a web `Request`
 * (body unread: register it in a context with `keepRawBodies`),
 * a refused call gets its OpenAI-shaped error, an admitted one reaches
 * `handler(request, call)` and its `Response` (receipt headers, or the metering SSE stream) is
 * sent as the reply. The client leaving aborts the call's signal.
 *
 * @example
 * fastify.post('/custom/chat', meteredHandler(meter, async (request, call) => Response.json(await answer(call))))
 */
export function meteredHandler(
  meter: Meter,
  handler: MeteredHandler,
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  return async function meteredRoute(request, reply) {
    const controller = new AbortController()
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) controller.abort()
    })
    const response = await meter.fetch(toWebRequest(request.raw, controller.signal), handler, {
      signal: controller.signal,
    })
    closeUnreadBody(request.raw, reply.raw)
    return reply.send(response)
  }
}
