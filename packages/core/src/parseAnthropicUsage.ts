import { InvalidUsageError } from './errors.js'
import type { Usage } from './types.js'

/** A {@link Usage} with its cache-write count, as Anthropic reports one. */
export type AnthropicUsage = Usage & { cacheWriteTokens: number }

/**
 * Reads an Anthropic Messages `usage` object into a {@link Usage} in OpenAI semantics.
 *
 * Anthropic reports cache reads and cache writes BESIDE `input_tokens` (which counts only the
 * uncached input after the last cache breakpoint), where OpenAI reports cached tokens INSIDE
 * its input count. So:
 * - `inputTokens` = `input_tokens` + `cache_read_input_tokens` + `cache_creation_input_tokens`
 * - `cachedInputTokens` = `cache_read_input_tokens`
 * - `cacheWriteTokens` = `cache_creation_input_tokens` (5-minute and 1-hour writes together)
 * - `outputTokens` = `output_tokens` (extended thinking is billed as output and is not
 *   reported apart, so `reasoningTokens` is 0).
 *
 * Absent or `null` cache counts read as 0, an absent `output_tokens` as 0; `input_tokens` is
 * required. Anything else (a non-object, a negative, fractional or unsafe count, a total input
 * beyond `Number.MAX_SAFE_INTEGER`) throws {@link InvalidUsageError}.
 *
 * @example
 * parseAnthropicUsage({ input_tokens: 21, cache_creation_input_tokens: 188086, cache_read_input_tokens: 0, output_tokens: 393 })
 * // { inputTokens: 188107, cachedInputTokens: 0, cacheWriteTokens: 188086, outputTokens: 393, reasoningTokens: 0 }
 */
export function parseAnthropicUsage(usage: unknown): AnthropicUsage {
  if (typeof usage !== 'object' || usage === null || Array.isArray(usage))
    throw new InvalidUsageError({
      shortMessage: 'Usage must be an object.',
      details: `Received ${usage === null ? 'null' : Array.isArray(usage) ? 'an array' : typeof usage}.`,
    })
  const u = usage as Record<string, unknown>
  const input = count(u, 'input_tokens', true)
  const cacheRead = count(u, 'cache_read_input_tokens')
  const cacheWrite = count(u, 'cache_creation_input_tokens')
  const inputTokens = input + cacheRead + cacheWrite
  if (!Number.isSafeInteger(inputTokens))
    throw new InvalidUsageError({
      shortMessage: 'Usage input tokens exceed the safe integer range.',
    })
  return {
    inputTokens,
    cachedInputTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    outputTokens: count(u, 'output_tokens'),
    reasoningTokens: 0,
  }
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
      details: `Received ${typeof value === 'number' ? String(value) : typeof value}.`,
    })
  return value
}
