import type { Request } from 'express'
import { MeterError } from './errors.js'

/**
 * Reads the request body bytes exactly as sent (the attestation signs their hash). The meter
 * must run before any body parser; it sets `req.body` itself and marks the body as read so
 * `express.json()` after it does nothing.
 *
 * @example
 * const raw = await readRawBody(req, 10 * 1024 * 1024)
 */
export async function readRawBody(req: Request, limit: number): Promise<Buffer> {
  const state = req as Request & { _body?: boolean; rawBody?: unknown }
  if (Buffer.isBuffer(state.rawBody)) return state.rawBody
  if (state._body || req.readableEnded)
    throw new MeterError({
      status: 500,
      type: 'server_error',
      code: 'rma_body_consumed',
      message: 'The request body was read before the meter.',
      details: 'Mount rmaMeter() before express.json() or any other body parser.',
    })
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit)
      throw new MeterError({
        status: 413,
        type: 'invalid_request_error',
        code: 'rma_body_too_large',
        message: `Request body exceeds ${limit} bytes.`,
      })
    chunks.push(chunk as Buffer)
  }
  const raw = Buffer.concat(chunks)
  state.rawBody = raw
  state._body = true
  return raw
}
