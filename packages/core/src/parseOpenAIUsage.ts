import { InvalidUsageError } from './errors.js'
import type { Usage } from './types.js'

/**
 * Reads an OpenAI `usage` object into a {@link Usage}, for every shape OpenAI-compatible
 * servers return:
 * - Chat Completions and Completions: `prompt_tokens`, `completion_tokens`,
 *   `prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`;
 * - Embeddings: `prompt_tokens` only (no output);
 * - Responses API (`response.usage`): `input_tokens`, `output_tokens`,
 *   `input_tokens_details.cached_tokens`, `output_tokens_details.reasoning_tokens`.
 *
 * Token counts keep OpenAI's meaning (cached inside input, reasoning inside output) and are
 * never added twice. Anything that is not such an object throws {@link InvalidUsageError}.
 *
 * @example
 * parseOpenAIUsage(completion.usage) // { inputTokens: 1200, cachedInputTokens: 1024, outputTokens: 80, reasoningTokens: 0 }
 */
export function parseOpenAIUsage(usage: unknown): Usage {
  if (typeof usage !== 'object' || usage === null)
    throw new InvalidUsageError({
      shortMessage: 'Usage must be an object.',
      details: `Received ${usage === null ? 'null' : typeof usage}.`,
    })
  const u = usage as Record<string, unknown>
  const responses = 'input_tokens' in u
  const parsed: Usage = {
    inputTokens: count(u, responses ? 'input_tokens' : 'prompt_tokens', true),
    cachedInputTokens: count(
      detail(u, responses ? 'input_tokens_details' : 'prompt_tokens_details'),
      'cached_tokens',
    ),
    outputTokens: count(u, responses ? 'output_tokens' : 'completion_tokens'),
    reasoningTokens: count(
      detail(u, responses ? 'output_tokens_details' : 'completion_tokens_details'),
      'reasoning_tokens',
    ),
  }
  if (parsed.cachedInputTokens > parsed.inputTokens)
    throw new InvalidUsageError({ shortMessage: 'Cached input tokens exceed input tokens.' })
  if (parsed.reasoningTokens > parsed.outputTokens)
    throw new InvalidUsageError({ shortMessage: 'Reasoning tokens exceed output tokens.' })
  return parsed
}

function detail(u: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = u[key]
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
}

function count(u: Record<string, unknown>, key: string, required = false): number {
  const value = u[key]
  if (value === undefined || value === null) {
    if (required) throw new InvalidUsageError({ shortMessage: `Usage has no "${key}".` })
    return 0
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new InvalidUsageError({
      shortMessage: `Usage "${key}" must be a non-negative integer.`,
      details: `Received ${show(value)}.`,
    })
  return value
}

/** `String(value)` throws on some untrusted objects (`{ "toString": 1 }`); the error must not. */
function show(value: unknown): string {
  try {
    return String(value)
  } catch {
    return typeof value
  }
}
