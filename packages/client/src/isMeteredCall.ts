import { meteredEndpointOf } from '@rma/core'

/**
 * Whether `@rma/express` meters a call by default: the shared rule `meteredEndpointOf` of
 * `@rma/core` (a POST to one of the metered endpoints under any mount prefix, on the path's
 * canonical form), so the client attests exactly what the meter meters.
 *
 * @example
 * isMeteredCall(new URL('http://localhost:8080/v1/chat/completions'), 'POST') // true
 */
export function isMeteredCall(url: URL, method: string): boolean {
  return meteredEndpointOf(method, url.pathname) !== undefined
}
