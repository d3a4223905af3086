import type { IncomingMessage, ServerResponse } from 'node:http'
import { createRmaRouteHandler, MeterError, type RmaRouteOptions } from '@rma/meter'
import express, { type NextFunction, type Request, type Response, type Router } from 'express'
import type { RmaMeter } from './rmaMeter.js'
import { sendError } from './sendError.js'

export type { RebateProofLike } from '@rma/meter'

export type RmaRouterOptions = Omit<RmaRouteOptions, 'meter'> & {
  /** The meter whose store, domain and metrics the routes serve. */
  meter: RmaMeter
  /** Mount path of the routes (default `/rma`). */
  basePath?: string
  /**
   * Serves `GET /rma/batches/<assetId>/<batchHash>.json` (and `.proofs.json`): the settler's
   * batch files and proof indexes, for auditors and users. Pass @rma/settlement's
   * `createBatchFileHandler({ batchDir })` (immutable caching, ETag = content hash); the
   * settlement client's `publicUrl` option then puts `<publicUrl>/rma/batches/…` on chain.
   */
  batches?: (req: IncomingMessage, res: ServerResponse) => unknown
}

/**
 * The meter's own routes (receipts, acks, rebate proofs, batch files, health, metrics) on an
 * Express router: the Express adapter of `createRmaRouteHandler` (@rma/meter), which answers
 * them; see there for the list. Every error, including a malformed body and a failing store,
 * is answered in OpenAI's JSON error shape, never as an HTML page or a stack trace.
 *
 * @example
 * app.use(rmaRouter({ meter }))
 */
export function rmaRouter(options: RmaRouterOptions): Router {
  const base = options.basePath ?? '/rma'
  const handle = createRmaRouteHandler(options)
  const parseJson = express.json({ limit: '16kb' })
  // Every route sits under one mount layer, so the app's other requests (the metered calls)
  // pass this router after one prefix test instead of one path match per route.
  const outer = express.Router()
  const router = express.Router()
  outer.use(base, router)

  // Mounted with `use`: the handler sees the path below /rma/batches and answers every method
  // itself (405 for anything but GET and HEAD).
  const { batches } = options
  if (batches)
    router.use('/batches', (req: Request, res: Response, next: NextFunction) => {
      Promise.resolve(batches(req, res)).catch(next)
    })

  router.use((req: Request, res: Response, next: NextFunction) => {
    handle({
      method: req.method,
      path: req.path,
      query: {
        get: (name) => {
          const value = req.query[name]
          return value === undefined ? undefined : String(value)
        },
      },
      headers: req,
      request: req,
      json: () =>
        new Promise((resolve, reject) =>
          parseJson(req, res, (error?: unknown) => (error ? reject(error) : resolve(req.body))),
        ),
    })
      .then((answer) => {
        if (!answer) return next()
        if ('json' in answer) res.status(answer.status).json(answer.json)
        else res.status(answer.status).type(answer.contentType).send(answer.text)
      })
      .catch((error: unknown) =>
        error instanceof MeterError ? sendError(res, error) : next(error),
      )
  })

  // Errors of these routes (a malformed or oversized body, a failing store) become OpenAI's
  // JSON error shape: Express's default handler would send an HTML page with a stack trace.
  outer.use(base, (error: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) next(error)
    else sendError(res, asMeterError(error))
  })

  return outer
}

/** A body parser's error as the client's mistake; anything else stays an opaque 500. */
function asMeterError(error: unknown): unknown {
  if (error instanceof MeterError) return error
  const parsed = error as { type?: unknown; status?: unknown } | undefined
  if (parsed?.type === 'entity.too.large')
    return new MeterError({
      status: 413,
      type: 'invalid_request_error',
      code: 'rma_body_too_large',
      message: 'The request body is too large.',
    })
  if (typeof parsed?.status === 'number' && parsed.status >= 400 && parsed.status < 500)
    return new MeterError({
      status: 400,
      type: 'invalid_request_error',
      code: 'rma_invalid_json',
      message: 'The request body must be valid JSON.',
    })
  return error
}
