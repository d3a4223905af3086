import type { MeteredCall } from './MeteredCall.js'

/**
 * A web handler behind `meter.fetch`: `call` is the admitted call, undefined for a request on a
 * route the meter does not meter.
 *
 * @example
 * const handler: MeteredHandler = (request, call) => Response.json({ ok: true, user: call?.user })
 */
export type MeteredHandler = (
  request: Request,
  call: MeteredCall | undefined,
) => Response | Promise<Response>
