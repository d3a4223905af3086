import { canonicalPath } from './canonicalPath.js'

/**
 * The metered endpoints: OpenAI's Chat Completions (`chat`), legacy Completions, Responses and
 * Embeddings, and Anthropic's Messages (`messages`).
 */
export type Endpoint = 'chat' | 'completions' | 'responses' | 'embeddings' | 'messages'

// Longest suffix first: `/chat/completions` also ends with `/completions`. Anthropic's route
// keeps its `/v1`: OpenAI's Assistants API has `/threads/{id}/messages`, which is not a paid call.
const suffixes: readonly (readonly [string, Endpoint])[] = [
  ['/chat/completions', 'chat'],
  ['/completions', 'completions'],
  ['/responses', 'responses'],
  ['/embeddings', 'embeddings'],
  ['/v1/messages', 'messages'],
]

/**
 * Which metered endpoint a request path calls, read on its {@link canonicalPath} (so case,
 * `.` segments, repeated or trailing slashes and percent-encoded letters do not hide a paid
 * route), by its last segments, so any mount prefix works (`/v1/chat/completions`,
 * `/chat/completions`, `/openai/v1/chat/completions`, Azure's
 * `/openai/deployments/{name}/chat/completions`, `/anthropic/v1/messages`). The query string
 * and a fragment are ignored. Paths below an endpoint (`/v1/responses/{id}`: retrieving, not
 * generating; `/v1/messages/count_tokens`), anything else and a path without a canonical form
 * give `undefined`. The client and the meter both decide with this function, so what one
 * attests the other meters.
 *
 * @example
 * endpointOf('/openai/v1/chat/completions?api-version=1') // 'chat'
 * endpointOf('/v1/CHAT/%63ompletions/.') // 'chat'
 * endpointOf('/v1/messages') // 'messages'
 * endpointOf('/v1/models') // undefined
 */
export function endpointOf(path: string): Endpoint | undefined {
  const fragment = path.indexOf('#')
  const query = path.indexOf('?')
  const end = fragment !== -1 && (query === -1 || fragment < query) ? fragment : path.length
  const canonical = canonicalPath(`/${path.slice(0, end)}`)
  if (canonical === undefined) return undefined
  for (const [suffix, endpoint] of suffixes) if (canonical.endsWith(suffix)) return endpoint
  return undefined
}
