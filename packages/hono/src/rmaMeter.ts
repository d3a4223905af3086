import type { Meter } from '@rma/meter'
import type { MiddlewareHandler } from 'hono'
import type { RmaEnv } from './RmaEnv.js'

/**
 * Hono middleware that meters every call on the meter's routes through `meter.fetch`: a refused
 * call gets its OpenAI-shaped error and never reaches the rest of the chain; an admitted one
 * runs the rest of the chain with `c.get('rma')` set to the call and `c.req.raw` a fresh request
 * with the same body bytes; the answer comes back with its receipt (headers for JSON; for SSE a
 * metering stream that holds the terminator until the receipt is stored). Requests on no
 * metered route pass through unchanged.
 *
 * @example
 * const meter = createMeter({ assetId, chainId, settlementContract, prices, store })
 * app.use(rmaRoutes({ meter }))
 * app.use(rmaMeter(meter))
 * app.post('/v1/*', openaiProxy({ upstream: 'https://api.openai.com/v1', apiKey }))
 */
export function rmaMeter(meter: Meter): MiddlewareHandler<RmaEnv> {
  return async function rmaMeterMiddleware(c, next) {
    const response = await meter.fetch(
      c.req.raw,
      async (request, call) => {
        c.req.raw = request
        c.set('rma', call)
        await next()
        return c.res
      },
      { signal: c.req.raw.signal },
    )
    // Hono keeps headers set on the old response unless it is cleared first.
    c.res = undefined
    c.res = response
  }
}
