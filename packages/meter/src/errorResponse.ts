import { toMeterError } from './errors.js'

/**
 * The web answer to a refusal or failure: OpenAI's error JSON with the error's status and
 * headers; anything that is not a `MeterError` becomes a 500 without leaking its message.
 *
 * @example
 * return errorResponse(new MeterError({ status: 404, type: 'invalid_request_error', code: 'rma_not_found', message: 'No receipt.' }))
 */
export function errorResponse(error: unknown): Response {
  const meterError = toMeterError(error)
  const headers = new Headers(meterError.headers)
  headers.set('content-type', 'application/json; charset=utf-8')
  return new Response(JSON.stringify(meterError.toJSON()), { status: meterError.status, headers })
}
