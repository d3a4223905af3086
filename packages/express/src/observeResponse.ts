import type { Response } from 'express'

/** What the meter does at each point of a response's life. */
export type ResponseHooks = {
  /** The response is an event stream: headers are about to leave. */
  onStreamStart(): void
  /** Bytes of a stream as they are forwarded. */
  onStreamBytes(chunk: Buffer): void
  /** The handler ended a stream: resolves to bytes to append (the inline receipt) or nothing. */
  onStreamEnd(clientGone: boolean): Promise<Buffer | undefined>
  /** The handler ended a non-stream response: resolves to headers to add before it is sent. */
  onBodyEnd(body: Buffer, status: number): Promise<Record<string, string> | undefined>
  /** The client left before the handler ended the response. */
  onClientGone(): void
}

type WriteCallback = (error?: Error | null) => void

/**
 * Intercepts `writeHead`, `write`, `end` and `flushHeaders` of an Express response, so the
 * meter works in front of any handler (the app's own or `openaiProxy`). Event streams are
 * forwarded chunk by chunk as written, with `rma-receipt-id` added to their headers; any other
 * body is held until `end()` so its receipt headers can go first. Writes after the client
 * left are dropped, but still observed, so a draining handler can finish its usage.
 */
export function observeResponse(res: Response, id: string, hooks: ResponseHooks): void {
  const original = {
    writeHead: res.writeHead.bind(res) as (...args: unknown[]) => Response,
    write: res.write.bind(res) as (...args: unknown[]) => boolean,
    end: res.end.bind(res) as (...args: unknown[]) => Response,
    flushHeaders: res.flushHeaders.bind(res),
  }
  let mode: 'stream' | 'body' | undefined
  let ended = false
  let releasing = false
  let clientGone = false
  const held: Buffer[] = []

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

  res.on('close', () => {
    if (ended) return
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
    if (decide() === 'stream' && !clientGone) original.flushHeaders()
  }

  res.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
    const cb = (typeof encoding === 'function' ? encoding : callback) as WriteCallback | undefined
    const bytes = toBuffer(chunk, typeof encoding === 'string' ? encoding : undefined)
    if (decide() === 'body') {
      held.push(bytes)
      cb?.()
      return true
    }
    hooks.onStreamBytes(bytes)
    if (clientGone) {
      cb?.()
      return true
    }
    return original.write(bytes, cb)
  }) as Response['write']

  res.end = ((chunk?: unknown, encoding?: unknown, callback?: unknown) => {
    if (ended) return res
    ended = true
    const cb = [chunk, encoding, callback].find((a) => typeof a === 'function') as
      | WriteCallback
      | undefined
    const last =
      chunk === undefined || typeof chunk === 'function'
        ? undefined
        : toBuffer(chunk, typeof encoding === 'string' ? encoding : undefined)
    if (decide() === 'body') {
      if (last) held.push(last)
      const body = Buffer.concat(held)
      hooks
        .onBodyEnd(body, res.statusCode)
        .then((headers) => {
          if (!res.headersSent)
            for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value)
        })
        .catch(() => undefined)
        .finally(() => {
          releasing = true
          original.end(body, cb)
        })
      return res
    }
    if (last) hooks.onStreamBytes(last)
    if (last && !clientGone) original.write(last)
    hooks
      .onStreamEnd(clientGone)
      .then((trailer) => {
        if (trailer && !clientGone) original.write(trailer)
      })
      .catch(() => undefined)
      .finally(() => original.end(cb))
    return res
  }) as Response['end']
}

function toBuffer(chunk: unknown, encoding: string | undefined): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk
  if (chunk instanceof Uint8Array)
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  return Buffer.from(String(chunk), (encoding ?? 'utf8') as BufferEncoding)
}
