import type { MeterError } from '../errors.js'

/**
 * An SSE frame that ends a stream with an error the official `openai` SDK raises (as an
 * `APIError` carrying the error's message, type and code) where it would otherwise have seen
 * `[DONE]`. It starts with a blank line, so it is read as its own event even when the bytes
 * before it stopped inside a frame.
 *
 * @example
 * res.end(sseErrorFrame(new MeterError({ status: 504, type: 'timeout_error', code: 'upstream_timeout', message: 'The upstream stopped sending.' })))
 */
export function sseErrorFrame(error: MeterError): Buffer {
  return Buffer.from(`\n\nevent: error\ndata: ${JSON.stringify(error.toJSON())}\n\n`)
}
