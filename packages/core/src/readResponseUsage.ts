import type { Endpoint } from './endpointOf.js'
import { BaseError } from './errors.js'
import { isRecord } from './internal/isRecord.js'
import { parseAnthropicUsage } from './parseAnthropicUsage.js'
import { parseOpenAIUsage } from './parseOpenAIUsage.js'
import type { Usage } from './types.js'

/** What a JSON response says about its own usage. */
export type ReadResponseUsageReturnType = {
  /** The reported usage; `undefined` when the body has none or it is malformed. */
  usage: Usage | undefined
  /** The `model` the response names (the served snapshot, e.g. `gpt-4o-mini-2024-07-18`). */
  model: string | undefined
  /** Why a `usage` that is present could not be read (`INVALID_USAGE`); never thrown. */
  error: BaseError | undefined
}

/**
 * Reads the reported usage and model of a parsed JSON response body. Chat Completions,
 * Completions and Embeddings carry them at `body.usage` and `body.model`; so does a Responses
 * API `Response` object. For `responses`, an event payload wrapping one
 * (`{ type: 'response.completed', response }`) is read too. Anthropic `messages` carry them at
 * `body.usage` and `body.model` too, read with {@link parseAnthropicUsage} (cache reads and
 * writes added into the input count); every other endpoint with {@link parseOpenAIUsage}.
 *
 * The meter prices what this returns and the client compares the receipt with what this
 * returns, on the same bytes: the one rule both sides apply.
 *
 * An absent or `null` usage gives `usage: undefined` without an error (error bodies, background
 * responses still in progress); a malformed one gives `usage: undefined` and the
 * `InvalidUsageError` from `parseOpenAIUsage` in `error`. It never throws.
 *
 * @example
 * const { usage, model, error } = readResponseUsage('chat', JSON.parse(body))
 * // usage: { inputTokens: 9, cachedInputTokens: 0, outputTokens: 12, reasoningTokens: 0 }
 */
export function readResponseUsage(endpoint: Endpoint, body: unknown): ReadResponseUsageReturnType {
  if (!isRecord(body)) return { usage: undefined, model: undefined, error: undefined }
  const source =
    endpoint === 'responses' && !('usage' in body) && isRecord(body.response) ? body.response : body
  const { model, usage } = source
  const named = typeof model === 'string' && model !== '' ? model : undefined
  if (usage === undefined || usage === null)
    return { usage: undefined, model: named, error: undefined }
  try {
    const parsed = endpoint === 'messages' ? parseAnthropicUsage(usage) : parseOpenAIUsage(usage)
    return { usage: parsed, model: named, error: undefined }
  } catch (error) {
    return {
      usage: undefined,
      model: named,
      error:
        error instanceof BaseError
          ? error
          : new BaseError('Usage could not be read.', { code: 'INVALID_USAGE', cause: error }),
    }
  }
}
