import { Buffer } from 'node:buffer'
import { createBytesHasher } from '@rma/core'
import { bodyErrors } from './bodyErrors.js'
import { MeterError } from './errors.js'
import type { BodyRead, BodyReadLimits } from './IncomingCall.js'

/**
 * Reads a web request's body exactly as sent, hashing it while it arrives, under the meter's
 * limits: a `content-length` over the limit is refused before a byte is read, a body growing
 * past it or arriving slower than `timeoutMs` as soon as that is known; a refused body's stream
 * is cancelled (the rest is never read). A large body must be admitted first (`admitLarge`).
 * `signal` aborting (the client left) ends the read as an incomplete body.
 *
 * @example
 * const { raw, hash } = await readBodyStream(request, { limit: 10 * 1024 * 1024, timeoutMs: 30_000 })
 */
export async function readBodyStream(
  request: Request,
  limits: BodyReadLimits,
  signal?: AbortSignal,
): Promise<BodyRead> {
  const { limit, timeoutMs, largeBytes = Number.POSITIVE_INFINITY, admitLarge } = limits
  const declared = Number(request.headers.get('content-length') ?? Number.NaN)
  const reader = request.body?.getReader()
  const refuse = (error: MeterError) => {
    reader?.cancel(error).catch(() => undefined)
    return error
  }
  if (Number.isFinite(declared) && declared > limit) throw refuse(bodyErrors.tooLarge(limit))
  let admitted = false
  if (admitLarge && Number.isFinite(declared) && declared > largeBytes) {
    try {
      admitLarge()
    } catch (error) {
      throw error instanceof MeterError ? refuse(error) : error
    }
    admitted = true
  }
  let hasher: ReturnType<typeof createBytesHasher> | undefined = createBytesHasher()
  if (limits.skipLargeHash && Number.isFinite(declared) && declared > largeBytes) hasher = undefined
  const chunks: Uint8Array[] = []
  let size = 0
  let busyMs = 0
  let failure: MeterError | undefined
  const fail = (error: MeterError) => {
    failure ??= error
    reader?.cancel(error).catch(() => undefined)
  }
  const timer = setTimeout(() => fail(bodyErrors.timeout(timeoutMs)), timeoutMs)
  const onAbort = () => fail(bodyErrors.aborted())
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    if (signal?.aborted) fail(bodyErrors.aborted())
    while (reader && !failure) {
      let read: Awaited<ReturnType<typeof reader.read>>
      try {
        read = await reader.read()
      } catch {
        fail(bodyErrors.aborted())
        break
      }
      if (read.done || failure) break
      const t0 = performance.now()
      const chunk = read.value
      size += chunk.length
      if (size > limit) {
        fail(bodyErrors.tooLarge(limit))
        break
      }
      if (!admitted && admitLarge && size > largeBytes) {
        admitted = true
        try {
          admitLarge()
        } catch (error) {
          if (!(error instanceof MeterError)) throw error
          fail(error)
          break
        }
      }
      if (limits.skipLargeHash && size > largeBytes) hasher = undefined
      hasher?.update(chunk)
      chunks.push(chunk)
      busyMs += performance.now() - t0
    }
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
  if (failure) {
    limits.onBusy?.(busyMs)
    throw failure
  }
  const t0 = performance.now()
  const raw = Buffer.concat(chunks, size)
  busyMs += performance.now() - t0
  limits.onBusy?.(busyMs)
  return { raw, hash: hasher?.hex(), busyMs }
}
