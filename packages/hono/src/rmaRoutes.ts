import { type CreateRmaRoutesOptions, createRmaRoutes } from '@rma/meter'
import type { MiddlewareHandler } from 'hono'

/**
 * Hono middleware serving the meter's `/rma` routes (receipts, acks, health, metrics, …) from
 * `createRmaRoutes` of `@rma/meter`; every other request goes on down the chain.
 *
 * @example
 * app.use(rmaRoutes({ meter, operatorToken: process.env.RMA_OPERATOR_TOKEN }))
 */
export function rmaRoutes(options: CreateRmaRoutesOptions): MiddlewareHandler {
  const routes = createRmaRoutes(options)
  return async function rmaRoutesMiddleware(c, next) {
    const response = await routes(c.req.raw)
    if (response) return response
    await next()
  }
}
