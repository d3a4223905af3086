import { closeUnreadBody, createMeter, type Meter, type MeterOptions } from '@rma/meter'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { clientGone } from './clientGone.js'
import { type BodyWorkerPool, createBodyWorkerPool } from './createBodyWorkerPool.js'
import { observeResponse } from './observeResponse.js'
import { readRawBody } from './readRawBody.js'
import { sendError } from './sendError.js'

/** The options of `rmaMeter()`: `identify` receives Express's `req`. */
export type RmaMeterOptions = MeterOptions<Request>

/** The middleware, with the meter behind it (its resolved config, events, metrics, `fetch`). */
export type RmaMeter = RequestHandler & Meter

/**
 * Meters OpenAI-compatible calls in an Express (4 or 5) app: the Express adapter of
 * `createMeter` (@rma/meter), which takes every decision. Every paid call gets a usage
 * receipt, priced with the price table, signed by the meter key as the next link of the
 * (asset, meter, user) chain, stored durably, then delivered: `rma-receipt` + `rma-receipt-id`
 * headers on JSON responses, and on event streams `rma-receipt-id` plus, when the client sent
 * `rma-receipt: inline`, a final `event: rma.receipt` frame. Stream bytes are forwarded as
 * written, unbuffered.
 *
 * Mount it before any body parser, in front of `openaiProxy()` or the app's own handlers.
 * Requests are routed on their `canonicalPath`; a path without one is refused. A paid call is
 * checked cheapest first (attestation from its headers, then the body read under the size and
 * time limits and hashed as it arrives, its price against the attestation's `maxAmount`, and
 * last the nonce in the store's register); any refusal is answered in OpenAI's error shape and
 * never reaches the handler. Construction throws on a missing or invalid meter key. The
 * handler finds the call on `req.rma` (a `MeteredCall`: `req.rma.report(...)`, `req.rma.drain()`).
 *
 * @example
 * const meter = rmaMeter({ assetId, chainId: 8453, settlementContract, prices, store: createSqliteStore() })
 * app.use(meter)
 * app.use(rmaRouter({ meter }))
 * app.post('/v1/*path', openaiProxy({ upstream: 'https://api.openai.com/v1', apiKey }))
 */
export function rmaMeter(options: RmaMeterOptions): RmaMeter {
  let pool: BodyWorkerPool | undefined
  // The meter calls it only with `largeBodyWorkers` on, which is when the pool exists.
  const core = createMeter(options, { processLargeBody: (raw) => pool!.process(raw) })
  const workers = core.config.largeBodyWorkers
  pool = workers === false ? undefined : createBodyWorkerPool(workers)

  async function rmaMeterMiddleware(req: Request, res: Response, next: NextFunction) {
    let endpoint: ReturnType<Meter['endpointOf']>
    try {
      endpoint = core.endpointOf(req.method, req.url)
    } catch (error) {
      closeUnreadBody(req, res)
      return sendError(res, error)
    }
    if (!endpoint) return next()
    let admitted: Awaited<ReturnType<Meter['admit']>>
    try {
      admitted = await core.admit(
        {
          method: req.method,
          url: req.url,
          headers: req,
          request: req,
          readBody: (limits) => readRawBody(req, limits),
          clientGone: () => clientGone(req),
        },
        endpoint,
      )
    } catch (error) {
      // A body refused unread is not read at all: the connection closes after the answer.
      closeUnreadBody(req, res)
      return sendError(res, error)
    }
    const { call } = admitted
    ;(req as Request & { rawBody?: Buffer }).rawBody = call.rawBody
    Object.defineProperty(req, 'body', {
      configurable: true,
      enumerable: true,
      get: () => call.body,
      set(value: unknown) {
        Object.defineProperty(req, 'body', {
          configurable: true,
          enumerable: true,
          writable: true,
          value,
        })
      },
    })
    req.rma = call
    res.once('close', admitted.done)
    observeResponse(res, call.id, admitted.hooks)
    next()
  }

  const meter = Object.assign(rmaMeterMiddleware, core)
  if (pool) pools.set(meter, pool)
  return meter
}

const pools = new WeakMap<RmaMeter, BodyWorkerPool>()

/** The threads of a meter that parse its large bodies, to make them fail in tests. Not exported by the package. */
export function bodyWorkerPoolOf(meter: RmaMeter): BodyWorkerPool | undefined {
  return pools.get(meter)
}
