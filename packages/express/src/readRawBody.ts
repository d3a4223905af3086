import { createBytesHasher, hashBytes } from '@rma/core'
import {
  type BodyRead,
  type BodyReadLimits,
  bodyErrors,
  closeUnreadBody,
  MeterError,
} from '@rma/meter'
import type { Request } from 'express'

/** The limits of a read (`BodyReadLimits` of @rma/meter). */
export type ReadRawBodyOptions = BodyReadLimits

/**
 * Reads the request body bytes exactly as sent (the attestation signs their hash) and hashes
 * them while they arrive, so a body is never held twice nor walked twice. A `content-length`
 * over the limit is refused before a byte is read; a body growing past it, or arriving slower
 * than `timeoutMs`, is refused as soon as that is known, and the connection is closed after
 * the answer so the rest is never read. The meter must run before any body parser; it sets
 * `req.body` itself and marks the body as read so `express.json()` after it does nothing.
 *
 * @example
 * const { raw, hash } = await readRawBody(req, { limit: 10 * 1024 * 1024, timeoutMs: 30_000 })
 */
export async function readRawBody(req: Request, options: ReadRawBodyOptions): Promise<BodyRead> {
  const { limit, timeoutMs, largeBytes = Number.POSITIVE_INFINITY, admitLarge } = options
  const state = req as Request & { _body?: boolean; rawBody?: unknown }
  if (Buffer.isBuffer(state.rawBody))
    return { raw: state.rawBody, hash: hashBytes(state.rawBody), busyMs: 0 }
  if (state._body || req.readableEnded)
    throw new MeterError({
      status: 500,
      type: 'server_error',
      code: 'rma_body_consumed',
      message: 'The request body was read before the meter.',
      details: 'Mount rmaMeter() before express.json() or any other body parser.',
    })
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) throw refuse(req, bodyErrors.tooLarge(limit))
  let admitted = false
  if (admitLarge && Number.isFinite(declared) && declared > largeBytes) {
    try {
      admitLarge()
    } catch (error) {
      throw error instanceof MeterError ? refuse(req, error) : error
    }
    admitted = true
  }
  // Undefined once the body is known to be large and the caller hashes it.
  let hasher: ReturnType<typeof createBytesHasher> | undefined = createBytesHasher()
  if (options.skipLargeHash && Number.isFinite(declared) && declared > largeBytes)
    hasher = undefined
  const chunks: Buffer[] = []
  let size = 0
  // Server-thread time spent on this body (hashing, copying), for the large-body budget.
  let busyMs = 0
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const finish = (error: MeterError | undefined) => {
      clearTimeout(timer)
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onClose)
      req.off('close', onClose)
      if (error) {
        options.onBusy?.(busyMs)
        return reject(refuse(req, error))
      }
      const t0 = performance.now()
      const whole = Buffer.concat(chunks, size)
      busyMs += performance.now() - t0
      options.onBusy?.(busyMs)
      resolve(whole)
    }
    const onData = (chunk: Buffer) => {
      const t0 = performance.now()
      size += chunk.length
      if (size > limit) return finish(bodyErrors.tooLarge(limit))
      if (!admitted && admitLarge && size > largeBytes) {
        admitted = true
        try {
          admitLarge()
        } catch (error) {
          if (error instanceof MeterError) return finish(error)
          throw error
        }
      }
      if (options.skipLargeHash && size > largeBytes) hasher = undefined
      hasher?.update(chunk)
      chunks.push(chunk)
      busyMs += performance.now() - t0
    }
    const onEnd = () => finish(undefined)
    const onClose = () => finish(bodyErrors.aborted())
    const timer = setTimeout(() => finish(bodyErrors.timeout(timeoutMs)), timeoutMs)
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onClose)
    req.on('close', onClose)
  })
  state.rawBody = raw
  state._body = true
  return { raw, hash: hasher?.hex(), busyMs }
}

/** The rest of a refused body is not read: the answer closes the connection. */
function refuse(req: Request, error: MeterError): MeterError {
  if (req.res) closeUnreadBody(req, req.res)
  return error
}
