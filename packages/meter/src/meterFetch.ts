import { Buffer } from 'node:buffer'
import { createResponseGate, type ResponseGate } from './createResponseGate.js'
import { errorResponse } from './errorResponse.js'
import { MeterError } from './errors.js'
import type { AdmittedCall, Meter } from './Meter.js'
import type { MeteredHandler } from './MeteredHandler.js'
import { readBodyStream } from './readBodyStream.js'

/**
 * `meter.fetch`: the web-standard binding of a meter (see {@link Meter.fetch}). The refusal,
 * admission, metering and delivery rules are the meter's (`endpointOf`, `admit`, the response
 * gate); this only moves web `Request`/`Response` bytes through them.
 *
 * @example
 * const response = await meterFetch(meter, request, proxy, { signal })
 */
export async function meterFetch(
  meter: Meter,
  request: Request,
  handler: MeteredHandler,
  init: { signal?: AbortSignal } = {},
): Promise<Response> {
  const url = new URL(request.url)
  const target = `${url.pathname}${url.search}`
  let endpoint: ReturnType<Meter['endpointOf']>
  try {
    endpoint = meter.endpointOf(request.method, target)
  } catch (error) {
    request.body?.cancel().catch(() => undefined)
    return errorResponse(error)
  }
  if (!endpoint) return handler(request, undefined)
  const signal = init.signal ?? request.signal
  let admitted: AdmittedCall
  try {
    admitted = await meter.admit(
      {
        method: request.method,
        url: target,
        headers: request.headers,
        request,
        readBody: (limits) => readBodyStream(request, limits, signal),
        clientGone: () => signal.aborted,
      },
      endpoint,
    )
  } catch (error) {
    request.body?.cancel().catch(() => undefined)
    return errorResponse(error)
  }
  const { call, hooks, done } = admitted
  const gate = createResponseGate(hooks)
  // The handler reads the same bytes again (they are the meter's, already in memory).
  const forwarded = new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body: call.rawBody,
    signal,
  })
  let response: Response
  try {
    response = await handler(forwarded, call)
  } catch (error) {
    response = errorResponse(error)
  }
  if (gate.modeOf(response.headers.get('content-type')) === 'body')
    return deliverBody(response, gate, done)
  gate.startStream()
  const headers = new Headers(response.headers)
  headers.set('rma-receipt-id', call.id)
  headers.delete('content-length')
  return new Response(
    meteredStream(response.body, gate, () => call.draining === true, signal, done),
    {
      status: response.status,
      statusText: response.statusText,
      headers,
    },
  )
}

/** A non-stream body, held until its receipt is stored: delivered with its headers, or replaced. */
async function deliverBody(
  response: Response,
  gate: ResponseGate,
  done: () => void,
): Promise<Response> {
  try {
    let status = response.status
    try {
      gate.holdBody(Buffer.from(await response.arrayBuffer()))
    } catch (error) {
      // The handler's body failed while it was read: deliver an error, never part of a body.
      const failed = errorResponse(
        error instanceof MeterError
          ? error
          : new MeterError({
              status: 502,
              type: 'upstream_error',
              code: 'rma_body_failed',
              message: 'The response body failed before it was complete.',
              cause: error,
            }),
      )
      status = failed.status
      gate.holdBody(Buffer.from(await failed.arrayBuffer()))
      response = failed
    }
    const delivery = await gate.endBody(status)
    const headers = new Headers(response.headers)
    if (delivery.kind === 'deliver') {
      for (const [name, value] of Object.entries(delivery.headers)) headers.set(name, value)
      return new Response(delivery.body, {
        status,
        statusText: response.statusText,
        headers,
      })
    }
    for (const name of delivery.removeHeaders) headers.delete(name)
    for (const [name, value] of Object.entries(delivery.headers)) headers.set(name, value)
    return new Response(delivery.body, { status: delivery.status, headers })
  } finally {
    done()
  }
}

/**
 * The handler's event stream, metered: whole frames pass as they arrive, the terminator is
 * held until the receipt is stored (then the inline receipt, or an SSE error, follows). When
 * the client leaves (the stream is cancelled, or `signal` aborts) the handler's stream is
 * cancelled, unless the handler drains it for exact usage: then it is read to its end here.
 */
function meteredStream(
  source: ReadableStream<Uint8Array> | null,
  gate: ResponseGate,
  draining: () => boolean,
  signal: AbortSignal,
  done: () => void,
): ReadableStream<Uint8Array> {
  const reader = source?.getReader()
  let gone = false
  let over = false
  const finish = async (
    controller: ReadableStreamDefaultController<Uint8Array> | undefined,
    reason: 'complete' | 'ended',
    error?: MeterError,
  ) => {
    if (over) return
    over = true
    if (reason === 'complete') reader?.cancel().catch(() => undefined)
    const out = await gate.endStream(reason, error)
    done()
    if (!controller || gone) return
    try {
      for (const bytes of out) controller.enqueue(bytes)
      controller.close()
    } catch {}
  }
  /** One read of the handler's stream through the gate. */
  const step = async (
    controller: ReadableStreamDefaultController<Uint8Array> | undefined,
  ): Promise<'over' | 'sent' | 'held'> => {
    if (!reader) {
      await finish(controller, 'ended')
      return 'over'
    }
    let read: Awaited<ReturnType<typeof reader.read>>
    try {
      read = await reader.read()
    } catch (error) {
      // Cut by a timeout or a reset: the handler says why with a MeterError.
      await finish(controller, 'ended', error instanceof MeterError ? error : undefined)
      return 'over'
    }
    if (read.done) {
      await finish(controller, 'ended')
      return 'over'
    }
    const bytes = Buffer.from(read.value.buffer, read.value.byteOffset, read.value.byteLength)
    const next = gate.streamBytes(bytes)
    if (next.complete) {
      await finish(controller, 'complete')
      return 'over'
    }
    if (!next.forward || !controller || gone) return 'held'
    controller.enqueue(next.forward)
    return 'sent'
  }
  const leave = () => {
    if (gone || over) return
    gone = true
    gate.clientGone()
    if (!draining()) {
      over = true
      reader?.cancel().catch(() => undefined)
      done()
      return
    }
    // Drained for exact usage: read to the end, observed, delivered to no one.
    void (async () => {
      while ((await step(undefined)) !== 'over') {}
    })()
  }
  signal.addEventListener('abort', leave, { once: true })
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // At least one chunk enqueued, or the stream closed, per pull.
      while (!over && !gone && (await step(controller)) === 'held') {}
    },
    cancel() {
      leave()
    },
  })
}
