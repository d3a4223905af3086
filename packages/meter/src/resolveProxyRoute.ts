import { canonicalPath } from '@rma/core'
import { MeterError } from './errors.js'
import { invalidPathError } from './invalidPathError.js'

/**
 * What `openaiProxy` forwards by default: the routes the meter prices, nothing else.
 *
 * @example
 * openaiProxy({ upstream, apiKey, routes: defaultProxyRoutes.filter((r) => r !== '/embeddings') })
 */
export const defaultProxyRoutes: readonly string[] = [
  '/chat/completions',
  '/completions',
  '/responses',
  '/embeddings',
  // Anthropic Messages (an upstream of `https://api.anthropic.com/v1`; `x-api-key` auth).
  '/messages',
]

/** What `resolveProxyRoute` reads of a request: an Express `req` is one. */
export type ProxyRouteRequest = {
  /** The request target: path and query (`req.url`), or a whole URL. */
  url: string
  method: string
  /** The meter's call, when the meter admitted this request. */
  rma?: unknown
}

export type ResolveProxyRouteParameters = {
  /** Upstream-relative canonical paths allowed upstream (`/chat/completions`, …). */
  routes: ReadonlySet<string>
  /** `'refuse'`: only calls the meter admitted (`req.rma`) go upstream. */
  unmetered: 'refuse' | 'forward'
}

/**
 * The upstream path of a request `openaiProxy` is asked to forward with the provider's key, or
 * a {@link MeterError} when it must not go: a path without a `canonicalPath` (400), a route
 * outside the allow-list (404, as OpenAI answers an unknown URL), or a call the meter did not
 * admit (500: the meter is not mounted in front of the proxy, or its `route` leaves this path
 * out). The path is the canonical form, with one leading `/v1` removed (the upstream URL
 * carries its own version), so the upstream is sent exactly what was metered.
 *
 * @example
 * resolveProxyRoute(req, { routes: new Set(defaultProxyRoutes), unmetered: 'refuse' }) // '/chat/completions'
 */
export function resolveProxyRoute(
  req: ProxyRouteRequest,
  parameters: ResolveProxyRouteParameters,
): string {
  const canonical = canonicalPath(req.url)
  if (canonical === undefined) throw invalidPathError(req.method)
  const path = canonical.replace(/^\/v1(?=\/|$)/, '') || '/'
  if (!parameters.routes.has(path))
    throw new MeterError({
      status: 404,
      type: 'invalid_request_error',
      code: 'rma_route_not_allowed',
      message: `Invalid URL (${req.method} ${canonical}): this server does not forward that route.`,
    })
  if (!req.rma && parameters.unmetered === 'refuse')
    throw new MeterError({
      status: 500,
      type: 'server_error',
      code: 'rma_unmetered_call',
      message: 'This call was not metered, so it is not forwarded.',
      details:
        'Mount rmaMeter() before openaiProxy() with a route that meters this path, or pass unmetered: "forward" to proxy without metering.',
    })
  return path
}
