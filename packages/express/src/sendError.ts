import { toMeterError } from '@rma/meter'
import type { Response } from 'express'

/**
 * Answers with an error in OpenAI's JSON shape (and the headers it carries, such as
 * `retry-after`); anything that is not a `MeterError` becomes a 500 without leaking its message.
 *
 * @example
 * sendError(res, new MeterError({ status: 400, type: 'invalid_request_error', code: 'rma_invalid_json', message: 'Body is not JSON.' }))
 */
export function sendError(res: Response, error: unknown): void {
  const meterError = toMeterError(error)
  if (res.headersSent) {
    res.end()
    return
  }
  for (const [name, value] of Object.entries(meterError.headers ?? {})) res.setHeader(name, value)
  res.status(meterError.status).json(meterError.toJSON())
}
