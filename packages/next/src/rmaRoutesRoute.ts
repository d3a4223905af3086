import { type CreateRmaRoutesOptions, createRmaRoutes, errorResponse, MeterError } from '@rma/meter'
import type { RouteHandler } from './RouteHandler.js'

/**
 * An App Router route handler serving the meter's `/rma` routes (receipts, acks, health,
 * metrics, …) from `createRmaRoutes` of `@rma/meter`; a path it does not serve gets an
 * OpenAI-shaped 404. Export it as both `GET` and `POST` of a catch-all route.
 *
 * @example
 * // app/rma/[...path]/route.ts
 * export const runtime = 'nodejs'
 * export const GET = rmaRoutesRoute({ meter })
 * export const POST = GET
 */
export function rmaRoutesRoute(options: CreateRmaRoutesOptions): RouteHandler {
  const routes = createRmaRoutes(options)
  return async function rmaRoute(request) {
    return (
      (await routes(request)) ??
      errorResponse(
        new MeterError({
          status: 404,
          type: 'invalid_request_error',
          code: 'rma_not_found',
          message: `No route ${new URL(request.url).pathname}.`,
        }),
      )
    )
  }
}
