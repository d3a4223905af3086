// Longest suffix first: `/chat/completions` also ends with `/completions`.
const meteredSuffixes = ['/chat/completions', '/completions', '/responses', '/embeddings']

/**
 * Whether `@rma/express` meters a call by default: a POST whose path ends with one of the
 * OpenAI endpoints it prices (any mount prefix), as its `endpointOf` decides.
 *
 * @example
 * isMeteredCall(new URL('http://localhost:8080/v1/chat/completions'), 'POST') // true
 */
export function isMeteredCall(url: URL, method: string): boolean {
  if (method.toUpperCase() !== 'POST') return false
  const path = url.pathname.replace(/\/+$/, '')
  return meteredSuffixes.some((suffix) => path.endsWith(suffix))
}
