import { createOpenAIProxy, type OpenAIProxyOptions, toMeterError } from '@rma/meter'
import type { Request, RequestHandler, Response } from 'express'
import { clientGone } from './clientGone.js'
import { endStreamWithError } from './endStreamWithError.js'
import { readRawBody } from './readRawBody.js'
import { sendError } from './sendError.js'

export type { OpenAIProxyOptions }

/**
 * A streaming pass-through to an OpenAI-compatible upstream (OpenAI, vLLM, Ollama, LM Studio,
 * Anthropic): the Express handler of `createOpenAIProxy` (@rma/meter), which holds every rule
 * (routes, forwarded headers, include_usage, timeouts, what a call the meter did not admit
 * gets). Here only the bytes move: the upstream's answer is piped into `res` chunk by chunk,
 * with backpressure. The provider's key is spent only on calls the meter admitted (`req.rma`).
 *
 * @example
 * app.use(rmaMeter({ ... }))
 * app.post('/v1/*path', openaiProxy({ upstream: 'https://api.openai.com/v1', apiKey: process.env.OPENAI_API_KEY }))
 */
export function openaiProxy(options: OpenAIProxyOptions): RequestHandler {
  const proxy = createOpenAIProxy(options)
  return async function openaiProxyHandler(req: Request, res: Response) {
    const controller = new AbortController()
    // Set once the answer was relayed to its end: the client leaving then cuts nothing.
    let relayed = false
    res.on('close', () => {
      if (!relayed && !res.writableFinished) controller.abort()
    })
    if (clientGone(req)) controller.abort()
    try {
      const response = await proxy.forward(
        {
          method: req.method,
          target: req.url,
          headers: req,
          body: () => requestBody(req),
          signal: controller.signal,
        },
        req.rma,
      )
      await pipe(response, res)
    } catch (error) {
      sendError(res, error)
    } finally {
      relayed = true
    }
  }
}

/**
 * A call the meter did not admit (`unmetered: 'forward'`): a body parser's result, else the
 * request read here.
 */
async function requestBody(req: Request): Promise<Uint8Array> {
  if (req.body !== undefined) return Buffer.from(JSON.stringify(req.body))
  return (await readRawBody(req, { limit: 10 * 1024 * 1024, timeoutMs: 30_000 })).raw
}

/** Writes a web Response into `res`: status, headers, then the body chunk by chunk with backpressure. */
async function pipe(response: globalThis.Response, res: Response): Promise<void> {
  res.status(response.status)
  for (const [name, value] of response.headers) res.setHeader(name, value)
  const isStream = (response.headers.get('content-type') ?? '').includes('text/event-stream')
  if (!response.body) return void res.end()
  if (!isStream) return void res.end(Buffer.from(await response.arrayBuffer()))
  res.flushHeaders()
  const reader = response.body.getReader()
  // Once the meter ended the response at its terminator nothing more is delivered: stop reading
  // (a body already read to its end is left alone by the proxy).
  res.once('close', () => {
    if (res.writableFinished) setImmediate(() => reader.cancel().catch(() => undefined))
  })
  const write = (bytes: Uint8Array) => {
    if (!res.write(bytes) && !res.destroyed && !res.writableEnded)
      return new Promise<void>((resolve) => {
        res.once('drain', resolve)
        res.once('close', resolve)
      })
  }
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      await write(value)
    }
  } catch (error) {
    // The client left (or the meter ended the stream): nothing to tell anyone.
    if (res.writableEnded || res.destroyed) return void res.end()
    // Cut by a timeout or a reset: end with an error event the SDK raises, never a clean end.
    // The proxy's stream errors with the MeterError saying why.
    return endStreamWithError(res, toMeterError(error))
  }
  res.end()
}
