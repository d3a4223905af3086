import { createRmaRouteHandler, type RmaRouteOptions } from './createRmaRouteHandler.js'
import { errorResponse } from './errorResponse.js'
import { MeterError } from './errors.js'
import { readBodyStream } from './readBodyStream.js'

export type CreateRmaRoutesOptions = RmaRouteOptions & {
  /** Mount path of the routes (default `/rma`). */
  basePath?: string
  /**
   * Serves `GET /rma/batches/<assetId>/<batchHash>.json` (and `.proofs.json`): the settler's
   * batch files and proof indexes, as a web handler (it sees the whole request).
   */
  batches?: (request: Request) => Response | Promise<Response>
}

/** Largest `POST /rma/acks` body read, in bytes. */
const ackBodyLimit = 16 * 1024

/**
 * The meter's /rma routes (receipts, acks, proofs, batch files, health, metrics; see
 * `createRmaRouteHandler`) as a web handler: a Response for an /rma route (errors in OpenAI's
 * JSON shape), undefined for any other request.
 *
 * @example
 * const routes = createRmaRoutes({ meter })
 * const respond = async (request: Request) => (await routes(request)) ?? meter.fetch(request, proxy)
 */
export function createRmaRoutes(
  options: CreateRmaRoutesOptions,
): (request: Request) => Promise<Response | undefined> {
  const handle = createRmaRouteHandler(options)
  const base = (options.basePath ?? '/rma').replace(/\/+$/, '').toLowerCase()
  return async function rmaRoutes(request) {
    const url = new URL(request.url)
    const lower = url.pathname.toLowerCase()
    if (lower !== base && !lower.startsWith(`${base}/`)) return undefined
    const path = url.pathname.slice(base.length) || '/'
    if (options.batches && /^\/batches(\/|$)/i.test(path)) return options.batches(request)
    try {
      const answer = await handle({
        method: request.method,
        path,
        query: url.searchParams,
        headers: request.headers,
        request,
        json: () => readJson(request),
      })
      if (!answer) return undefined
      if ('json' in answer)
        return new Response(JSON.stringify(answer.json), {
          status: answer.status,
          headers: { 'content-type': 'application/json; charset=utf-8' },
        })
      return new Response(answer.text, {
        status: answer.status,
        headers: { 'content-type': answer.contentType },
      })
    } catch (error) {
      return errorResponse(error)
    }
  }
}

/** A JSON body (by its content type) of at most {@link ackBodyLimit} bytes; undefined otherwise. */
async function readJson(request: Request): Promise<unknown> {
  if (!(request.headers.get('content-type') ?? '').includes('json')) return undefined
  const { raw } = await readBodyStream(request, { limit: ackBodyLimit, timeoutMs: 30_000 })
  if (raw.length === 0) return undefined
  try {
    return JSON.parse(raw.toString('utf8'))
  } catch {
    throw new MeterError({
      status: 400,
      type: 'invalid_request_error',
      code: 'rma_invalid_json',
      message: 'The request body must be valid JSON.',
    })
  }
}
