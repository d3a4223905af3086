import { type Endpoint, endpointOf } from './endpointOf.js'

/**
 * The endpoint a call is metered as, or `undefined` when it is not a metered call: a `POST`
 * (any case) whose path {@link endpointOf} recognises. The client attests exactly the calls
 * this returns an endpoint for, and the meter's default route meters exactly those.
 *
 * @example
 * meteredEndpointOf('POST', '/v1/chat/completions') // 'chat'
 * meteredEndpointOf('GET', '/v1/responses') // undefined
 */
export function meteredEndpointOf(method: string, path: string): Endpoint | undefined {
  return method.toUpperCase() === 'POST' ? endpointOf(path) : undefined
}
