/** The OpenAI-compatible endpoints the meter understands. */
export type Endpoint = 'chat' | 'completions' | 'responses' | 'embeddings'

// Longest suffix first: `/chat/completions` also ends with `/completions`.
const suffixes: readonly (readonly [string, Endpoint])[] = [
  ['/chat/completions', 'chat'],
  ['/completions', 'completions'],
  ['/responses', 'responses'],
  ['/embeddings', 'embeddings'],
]

/**
 * Which metered endpoint a request path calls, by its last segments, so any mount prefix works
 * (`/v1/chat/completions`, `/chat/completions`, `/openai/v1/chat/completions`, Azure's
 * `/openai/deployments/{name}/chat/completions`). The query string, a fragment and trailing
 * slashes are ignored. Paths below an endpoint (`/v1/responses/{id}`: retrieving, not
 * generating) and anything else give `undefined`.
 *
 * @example
 * endpointOf('/openai/v1/chat/completions?api-version=1') // 'chat'
 * endpointOf('/v1/models') // undefined
 */
export function endpointOf(path: string): Endpoint | undefined {
  let end = path.length
  const query = path.indexOf('?')
  if (query !== -1) end = query
  const fragment = path.indexOf('#')
  if (fragment !== -1 && fragment < end) end = fragment
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--
  const bare = `/${path.slice(0, end)}`
  for (const [suffix, endpoint] of suffixes) if (bare.endsWith(suffix)) return endpoint
  return undefined
}
