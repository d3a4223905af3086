import { MeterError } from './errors.js'

/**
 * The refusals of reading a request body, the same for every adapter's reader (Express's
 * `readRawBody`, the web `readBodyStream`).
 *
 * @example
 * if (size > limit) throw bodyErrors.tooLarge(limit)
 */
export const bodyErrors = {
  tooLarge: (limit: number) =>
    new MeterError({
      status: 413,
      type: 'invalid_request_error',
      code: 'rma_body_too_large',
      message: `Request body exceeds ${limit} bytes.`,
    }),
  aborted: () =>
    new MeterError({
      status: 400,
      type: 'invalid_request_error',
      code: 'rma_body_aborted',
      message: 'The request body ended before it was complete.',
    }),
  timeout: (timeoutMs: number) =>
    new MeterError({
      status: 408,
      type: 'invalid_request_error',
      code: 'rma_body_timeout',
      message: `The request body did not arrive within ${timeoutMs} ms.`,
    }),
}
