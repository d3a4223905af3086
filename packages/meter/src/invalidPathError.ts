import { MeterError } from './errors.js'

/**
 * 400 `rma_invalid_path`: a request target without a `canonicalPath` (encoded slashes,
 * backslashes, dot segments, `;` parameters), refused by the meter and the proxy alike.
 *
 * @example
 * if (canonicalPath(url) === undefined) throw invalidPathError('POST')
 */
export function invalidPathError(method: string): MeterError {
  return new MeterError({
    status: 400,
    type: 'invalid_request_error',
    code: 'rma_invalid_path',
    message: `Invalid URL (${method}): the path has encoded slashes, backslashes, dots or \`;\` parameters.`,
  })
}
