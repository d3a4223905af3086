import { createResponseGate, type ResponseHooks, type StreamEndReason } from '@rma/meter'
import type { Response } from 'express'
import { markObserved, streamErrorOf } from './endStreamWithError.js'

type WriteCallback = (error?: Error | null) => void

/**
 * Intercepts `writeHead`, `write`, `end` and `flushHeaders` of an Express response, so the
 * meter works in front of any handler (the app's own or `openaiProxy`), and feeds what the
 * handler writes through the meter's response gate (`createResponseGate` of @rma/meter, which
 * decides what is forwarded, held and appended).
 *
 * Event streams get `rma-receipt-id` in their headers and are forwarded frame by frame as
 * the gate releases them; the response ends with the frame that completes the stream, once the
 * receipt is stored (an SDK stops reading at `[DONE]` anyway). Any other body is held until
 * `end()` so its receipt headers can go first, or an error replace it. Writes after the client
 * left are dropped, but still observed, so a draining handler can finish its usage.
 */
export function observeResponse(res: Response, id: string, hooks: ResponseHooks): void {
  const original = {
    writeHead: res.writeHead.bind(res) as (...args: unknown[]) => Response,
    write: res.write.bind(res) as (...args: unknown[]) => boolean,
    end: res.end.bind(res) as (...args: unknown[]) => Response,
    flushHeaders: res.flushHeaders.bind(res),
  }
  const gate = createResponseGate(hooks)
  let mode: 'stream' | 'body' | undefined
  /** The handler called end(). */
  let ended = false
  /** The meter ended the underlying response. */
  let closed = false
  let releasing = false
  let clientGone = false
  const endCallbacks: WriteCallback[] = []
  markObserved(res)

  const decide = () => {
    if (mode) return mode
    mode = gate.modeOf(String(res.getHeader('content-type') ?? ''))
    if (mode === 'stream') {
      if (!res.headersSent) res.setHeader('rma-receipt-id', id)
      gate.startStream()
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
    gate
      .endStream(reason, streamErrorOf(res))
      .then((out) => {
        if (clientGone) return
        for (const bytes of out) original.write(bytes)
      })
      .finally(() => close())
  }

  /** Observes one stream chunk and forwards the frames it completes: `complete` at the terminator. */
  const forward = (bytes: Buffer, cb: WriteCallback | undefined): boolean | 'complete' => {
    const step = gate.streamBytes(bytes)
    if (step.complete) {
      cb?.()
      finishStream('complete')
      return 'complete'
    }
    if (!step.forward) {
      cb?.()
      return true
    }
    return original.write(step.forward, cb)
  }

  res.on('close', () => {
    if (closed || clientGone) return
    clientGone = true
    gate.clientGone()
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
      gate.holdBody(bytes)
      cb?.()
      return true
    }
    if (gate.streamEnded || closed) {
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
      if (last) gate.holdBody(last)
      gate.endBody(res.statusCode).then((delivery) => {
        if (delivery.kind === 'deliver') {
          if (!res.headersSent)
            for (const [name, value] of Object.entries(delivery.headers)) res.setHeader(name, value)
          return close(delivery.body)
        }
        // Headers already gone (a handler flushed them itself): the body must still not go.
        if (res.headersSent) {
          closed = true
          res.destroy()
          return
        }
        res.statusCode = delivery.status
        for (const name of delivery.removeHeaders) res.removeHeader(name)
        for (const [name, value] of Object.entries(delivery.headers)) res.setHeader(name, value)
        close(delivery.body)
      })
      return res
    }
    if (gate.streamEnded || closed) return res
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
