import type { MeterError } from '@rma/meter'
import { sseErrorFrame } from '@rma/meter'
import type { Response } from 'express'

const observed = new WeakSet<Response>()
const failures = new WeakMap<Response, MeterError>()

/** Marks a response as one `rmaMeter` watches (it then writes the error event itself). */
export function markObserved(res: Response): void {
  observed.add(res)
}

/** The error a handler ended a stream with, if it did. */
export function streamErrorOf(res: Response): MeterError | undefined {
  return failures.get(res)
}

/**
 * Ends an event stream that cannot complete (the upstream reset, timed out, …) with an SSE
 * error event the official `openai` SDK raises as an `APIError`, never with a clean end a client
 * would take for a complete answer. Behind `rmaMeter`, the meter writes the event after the last
 * whole frame and charges nothing for the call; without it, the event is written here.
 *
 * @example
 * try { for await (const chunk of upstream.body) res.write(chunk) }
 * catch { return endStreamWithError(res, new MeterError({ status: 502, type: 'upstream_error', code: 'upstream_reset', message: 'The upstream closed the stream.' })) }
 */
export function endStreamWithError(res: Response, error: MeterError): void {
  if (observed.has(res)) {
    failures.set(res, error)
    res.end()
  } else res.end(sseErrorFrame(error))
}
