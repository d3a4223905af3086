import type { Meter, MeteredHandler } from '@rma/meter'
import type { RouteHandler } from './RouteHandler.js'

/**
 * Wraps a handler into an App Router route handler metered by `meter.fetch`: a refused call gets
 * its OpenAI-shaped error and never reaches `handler`; an admitted one reaches
 * `handler(request, call)` and its answer comes back with the receipt. The client leaving
 * (`request.signal`, which Next aborts when the connection closes) is the call's abort.
 *
 * @example
 * // app/v1/chat/completions/route.ts
 * export const runtime = 'nodejs'
 * export const POST = withRmaMeter(meter, async (request, call) => Response.json(await answer(call)))
 */
export function withRmaMeter(meter: Meter, handler: MeteredHandler): RouteHandler {
  return function meteredRoute(request) {
    return meter.fetch(request, handler, { signal: request.signal })
  }
}
