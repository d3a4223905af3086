import { createFrameBoundaryScanner } from '@rma/core'
import { MeterError } from '@rma/meter'
import type { Response } from 'express'
import { markObserved, streamErrorOf } from './endStreamWithError.js'

/**
 * Why a stream is over: its success terminator arrived (`complete`), or the handler ended it
 * without one (`ended`: an upstream reset, a timeout, a handler that gave up).
 */
export type StreamEndReason = 'complete' | 'ended'

/** What to do with the end of a stream once the meter has settled it. */
export type StreamEnding = {
  /** Forward the held bytes (the frame that carried the terminator, or an unfinished frame). */
  release: boolean
  /** Bytes to write after them (the inline receipt, or an SSE error event). */
  append?: Buffer
}

/** What to do with a non-stream body once the meter has settled it. */
export type BodyEnding =
  | { headers?: Record<string, string>; error?: undefined }
  /** Deliver this error instead of the body (fail closed: the receipt could not be stored). */
  | { error: MeterError; headers?: undefined }

/** What the meter does at each point of a response's life. */
export type ResponseHooks = {
  /** The response is an event stream: headers are about to leave. */
  onStreamStart(): void
  /**
   * Bytes of a stream before they are forwarded. True once they carried the stream's
   * terminator (`data: [DONE]`, `response.completed`): that chunk is then held, later bytes are
   * dropped, and `onStreamEnd('complete')` decides what the client gets.
   */
  onStreamBytes(chunk: Buffer): boolean
  /**
   * The stream is over: resolves once its receipt is settled (stored, or refused). `error` is
   * what the handler ended it with (`endStreamWithError`), if anything.
   */
  onStreamEnd(reason: StreamEndReason, error?: MeterError): Promise<StreamEnding>
  /** The handler ended a non-stream response: resolves once its receipt is settled. */
  onBodyEnd(body: Buffer, status: number): Promise<BodyEnding>
  /** The client left before the response was complete. */
  onClientGone(): void
}

type WriteCallback = (error?: Error | null) => void

/**
 * Intercepts `writeHead`, `write`, `end` and `flushHeaders` of an Express response, so the
 * meter works in front of any handler (the app's own or `openaiProxy`).
 *
 * Event streams are forwarded frame by frame as soon as each frame is whole (a client cannot
 * use part of one), with `rma-receipt-id` added to their headers, up to the frame that completes
 * the stream: that one is held until the receipt is stored, so a client never sees `[DONE]` for
 * a call without a durable receipt, and the response ends with it (an SDK stops reading at
 * `[DONE]` anyway). Whatever the meter appends instead starts between two frames. Any other body is held
 * until `end()` so its receipt headers can go first, or an error replace it. Writes after the
 * client left are dropped, but still observed, so a draining handler can finish its usage.
 */
export function observeResponse(res: Response, id: string, hooks: ResponseHooks): void {
  const original = {
    writeHead: res.writeHead.bind(res) as (...args: unknown[]) => Response,
    write: res.write.bind(res) as (...args: unknown[]) => boolean,
    end: res.end.bind(res) as (...args: unknown[]) => Response,
    flushHeaders: res.flushHeaders.bind(res),
  }
  let mode: 'stream' | 'body' | undefined
  /** The handler called end(). */
  let ended = false
  /** The stream's end is being settled: later writes are dropped. */
  let finishing = false
  /** The meter ended the underlying response. */
  let closed = false
  let releasing = false
  let clientGone = false
  const held: Buffer[] = []
  /** Bytes of a stream frame not yet whole. */
  let tail: Buffer[] = []
  const scanner = createFrameBoundaryScanner()
  const endCallbacks: WriteCallback[] = []
  markObserved(res)

  const decide = () => {
    if (mode) return mode
    const type = String(res.getHeader('content-type') ?? '')
    mode = type.includes('text/event-stream') ? 'stream' : 'body'
    if (mode === 'stream') {
      if (!res.headersSent) res.setHeader('rma-receipt-id', id)
      hooks.onStreamStart()
    }
    return mode
  }

  const close = (last?: Buffer) => {
    closed = true
    releasing = true
    original.end(last, () => {
      for (const cb of endCallbacks.splice(0)) cb()
    })
  }

  const finishStream = (reason: StreamEndReason) => {
    finishing = true
    held.push(...tail.splice(0))
    hooks
      .onStreamEnd(reason, streamErrorOf(res))
      .then(({ release, append }) => {
        if (clientGone) return
        if (release) for (const bytes of held) original.write(bytes)
        if (append) original.write(append)
      })
      .catch(() => undefined)
      .finally(() => close())
  }

  /** Observes one stream chunk and forwards the frames it completes: `complete` at the terminator. */
  const forward = (bytes: Buffer, cb: WriteCallback | undefined): boolean | 'complete' => {
    const complete = hooks.onStreamBytes(bytes)
    const end = scanner.push(bytes)
    if (complete) {
      tail.push(bytes)
      cb?.()
      finishStream('complete')
      return 'complete'
    }
    if (clientGone || end === -1) {
      if (!clientGone) tail.push(bytes)
      cb?.()
      return true
    }
    const whole =
      tail.length === 0 ? bytes.subarray(0, end) : Buffer.concat([...tail, bytes.subarray(0, end)])
    tail = end < bytes.length ? [bytes.subarray(end)] : []
    return original.write(whole, cb)
  }

  res.on('close', () => {
    if (closed || clientGone) return
    clientGone = true
    hooks.onClientGone()
  })

  res.writeHead = ((status: number, ...rest: unknown[]) => {
    // Node's own end() calls writeHead() to build the head of a held body: let it through.
    if (releasing) return original.writeHead(status, ...rest)
    res.statusCode = status
    for (const arg of rest) {
      if (typeof arg === 'string') res.statusMessage = arg
      else if (Array.isArray(arg))
        for (let i = 0; i + 1 < arg.length; i += 2) res.setHeader(String(arg[i]), arg[i + 1])
      else if (arg && typeof arg === 'object')
        for (const [name, value] of Object.entries(arg)) res.setHeader(name, value as string)
    }
    if (decide() === 'stream' && !clientGone) original.writeHead(status)
    return res
  }) as Response['writeHead']

  res.flushHeaders = () => {
    if (decide() === 'stream' && !clientGone && !res.headersSent) original.flushHeaders()
  }

  res.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
    const cb = (typeof encoding === 'function' ? encoding : callback) as WriteCallback | undefined
    const bytes = toBuffer(chunk, typeof encoding === 'string' ? encoding : undefined)
    if (decide() === 'body') {
      held.push(bytes)
      cb?.()
      return true
    }
    if (finishing || closed) {
      cb?.()
      return true
    }
    return forward(bytes, cb) !== false
  }) as Response['write']

  res.end = ((chunk?: unknown, encoding?: unknown, callback?: unknown) => {
    if (ended) return res
    ended = true
    const cb = [chunk, encoding, callback].find((a) => typeof a === 'function') as
      | WriteCallback
      | undefined
    if (cb) endCallbacks.push(cb)
    const last =
      chunk === undefined || typeof chunk === 'function'
        ? undefined
        : toBuffer(chunk, typeof encoding === 'string' ? encoding : undefined)
    if (decide() === 'body') {
      if (last) held.push(last)
      const body = Buffer.concat(held)
      hooks
        .onBodyEnd(body, res.statusCode)
        // The hooks settle every failure themselves; anything else must not deliver the body.
        .catch((error: unknown): BodyEnding => ({ error: internalError(error) }))
        .then((ending) => {
          let out = body
          // Headers already gone (a handler flushed them itself): the body must still not go.
          if (res.headersSent && ending.error) {
            closed = true
            res.destroy()
            return
          }
          if (!res.headersSent && ending.error) {
            out = Buffer.from(JSON.stringify(ending.error.toJSON()))
            res.statusCode = ending.error.status
            for (const name of ['content-length', 'content-encoding', 'etag'])
              res.removeHeader(name)
            res.setHeader('content-type', 'application/json; charset=utf-8')
          } else if (!res.headersSent)
            for (const [name, value] of Object.entries(ending.headers ?? {}))
              res.setHeader(name, value)
          close(out)
        })
      return res
    }
    if (finishing || closed) return res
    if (last && forward(last, undefined) === 'complete') return res
    finishStream('ended')
    return res
  }) as Response['end']
}

function toBuffer(chunk: unknown, encoding: string | undefined): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk
  if (chunk instanceof Uint8Array)
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  return Buffer.from(String(chunk), (encoding ?? 'utf8') as BufferEncoding)
}

function internalError(cause: unknown): MeterError {
  return new MeterError({
    status: 500,
    type: 'server_error',
    code: 'rma_internal_error',
    message: 'The meter failed to settle this call; its response is withheld.',
    cause,
  })
}
