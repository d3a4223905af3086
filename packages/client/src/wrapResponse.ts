import { hashBytes, readResponseUsage } from '@rma/core'
import { callsByTarget } from './callRegistry.js'
import type { Call, Engine } from './createRmaEngine.js'
import { createSseReceiptFilter } from './createSseReceiptFilter.js'
import { ReceiptError } from './errors.js'

const decoder = new TextDecoder()

/**
 * Checks the receipt of a metered call's response and returns the Response the SDK gets:
 * - error statuses pass through untouched (failed calls are not charged);
 * - JSON: the body is read, hashed and compared with the `rma-receipt` header; the SDK gets a
 *   new Response with the same status, headers and bytes, whose body fails with the
 *   `ReceiptError` in `onMismatch: 'throw'` mode (so the SDK call rejects with it, unretried);
 * - event streams: the body is piped through {@link createSseReceiptFilter}; at the end the
 *   inline receipt is checked before the last bytes (`data: [DONE]` on) are released, or the
 *   stream fails with the `ReceiptError`. A stream cancelled early (the SDK aborts on `break`)
 *   has its receipt fetched from `/rma/receipts/:id` in the background.
 *
 * @example
 * return wrapResponse(engine, call, await fetch(url, init))
 */
export async function wrapResponse(
  engine: Engine,
  call: Call,
  response: Response,
): Promise<Response> {
  call.requestId = response.headers.get('x-request-id') ?? undefined
  call.receiptId = response.headers.get('rma-receipt-id') ?? undefined
  if (response.status === 402) await reportRefusal(engine, call, response)
  if (response.status >= 400 || !response.body) {
    engine.skip(
      call,
      `The call failed with status ${response.status}: failed calls are not charged.`,
    )
    return response
  }
  const type = response.headers.get('content-type') ?? ''
  const wrapped = type.includes('text/event-stream')
    ? wrapStream(engine, call, response)
    : await wrapJson(engine, call, response)
  callsByTarget.set(wrapped, call)
  return wrapped
}

/** A 402 for balance is told to the app (`insufficientBalance`); the SDK still gets it as is. */
async function reportRefusal(engine: Engine, call: Call, response: Response): Promise<void> {
  try {
    const body = (await response.clone().json()) as { error?: Record<string, unknown> } | null
    if (body?.error?.code === 'rma_insufficient_balance')
      engine.refusedForBalance(call.url, body.error)
  } catch {
    // Not the meter's JSON: nothing to report.
  }
}

async function wrapJson(engine: Engine, call: Call, response: Response): Promise<Response> {
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(await response.arrayBuffer())
  } catch (error) {
    engine.skip(call, 'The response body could not be read.')
    throw error
  }
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(bytes))
  } catch {
    // The meter issues no receipt for a body that is not JSON.
    engine.skip(call, 'The response body is not JSON: the meter does not charge it.')
    return rebuild(response, bytes)
  }
  const reported = readResponseUsage(call.endpoint, json)
  const outcome = await engine.settle(call, {
    encoded: response.headers.get('rma-receipt') ?? undefined,
    observed: {
      responseHash: hashBytes(bytes),
      usage: reported.usage,
      model: reported.model,
      failed: false,
    },
  })
  if (outcome instanceof ReceiptError && engine.config.onMismatch === 'throw')
    return rebuild(response, failing(outcome))
  return rebuild(response, bytes)
}

function wrapStream(engine: Engine, call: Call, response: Response): Response {
  const reader = response.body!.getReader()
  const filter = createSseReceiptFilter(call.endpoint)
  let finished = false
  const aborted = () => {
    if (finished) return
    finished = true
    void engine.settle(call, { encoded: undefined, observed: filter.abort(), aborted: true })
  }
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>
        try {
          chunk = await reader.read()
        } catch (error) {
          const first = !finished
          aborted()
          if (first) controller.error(error)
          return
        }
        if (finished) return
        if (!chunk.done) {
          const out = filter.push(chunk.value)
          if (out.length === 0) continue
          for (const bytes of out) controller.enqueue(bytes)
          return
        }
        const result = filter.end()
        finished = true
        if (result.failed && result.receipt === undefined)
          engine.skip(call, 'The stream reported an error: failed calls are not charged.')
        else {
          if (typeof result.receipt === 'object') call.receiptId ??= result.receipt.id
          const encoded =
            typeof result.receipt === 'object' ? result.receipt.encoded : result.receipt
          const outcome = await engine.settle(call, { encoded, observed: result })
          if (outcome instanceof ReceiptError && engine.config.onMismatch === 'throw')
            return controller.error(outcome)
        }
        for (const bytes of result.held) controller.enqueue(bytes)
        controller.close()
        return
      }
    },
    cancel(reason) {
      aborted()
      return reader.cancel(reason)
    },
  })
  return rebuild(response, body)
}

/** A Response with the original's status, headers and URL and another body. */
function rebuild(response: Response, body: ConstructorParameters<typeof Response>[0]): Response {
  const out = new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  })
  Object.defineProperty(out, 'url', { value: response.url })
  return out
}

/** A body whose first read fails with `error`: the SDK's `response.text()` rejects with it. */
function failing(error: Error): ReadableStream<Uint8Array> {
  return new ReadableStream({
    pull(controller) {
      controller.error(error)
    },
  })
}
