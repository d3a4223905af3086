import { MeterError } from '@rma/meter'
import type { Response } from 'express'

/**
 * Answers with an error in OpenAI's JSON shape; anything that is not a {@link MeterError}
 * becomes a 500 without leaking its message.
 *
 * @example
 * sendError(res, new MeterError({ status: 400, type: 'invalid_request_error', code: 'rma_invalid_json', message: 'Body is not JSON.' }))
 */
export function sendError(res: Response, error: unknown): void {
  const meterError =
    error instanceof MeterError
      ? error
      : new MeterError({
          status: 500,
          type: 'server_error',
          code: 'rma_internal_error',
          message: 'The meter failed to process the request.',
          cause: error,
        })
  if (res.headersSent) {
    res.end()
    return
  }
  res.status(meterError.status).json(meterError.toJSON())
}
