import type { ModelPrice, PriceTable } from './createPriceTable.js'
import { InvalidUsageError, UnknownModelError } from './errors.js'
import { resolvePrice } from './internal/resolvePrice.js'
import type { Usage } from './types.js'

const PER = 1_000_000n

/**
 * The price of one call in payment-token base units.
 *
 * Cached and cache-write tokens are part of input tokens and reasoning tokens part of output
 * tokens (OpenAI semantics), so each token is priced once: (input − cached − cacheWrite) at
 * `input`, cached at `cachedInput`, cacheWrite at `cacheWrite`, (output − reasoning) at
 * `output`, reasoning at `reasoning`. The five products are summed exactly and divided by
 * 1,000,000 once, rounding up: a call is never charged less than its exact price, and at most
 * one base unit more.
 *
 * `model` resolves by exact name, then alias, then with its snapshot suffix removed
 * (`gpt-4o-2024-08-06` → `gpt-4o`); the version in force at `at` (unix seconds, default now)
 * applies. An unpriced model throws {@link UnknownModelError}: the caller chooses the policy.
 *
 * @example
 * priceUsage(table, 'gpt-4o-2024-08-06', { inputTokens: 1200, cachedInputTokens: 1000, outputTokens: 300, reasoningTokens: 0 })
 */
export function priceUsage(
  table: PriceTable,
  model: string,
  usage: Usage,
  options: { at?: number } = {},
): bigint {
  const price = resolveModelPrice(table, model, options.at ?? Math.floor(Date.now() / 1000))
  return priceTokens(price, checkUsage(usage))
}

/**
 * The price rule itself, for one model's price: per-million prices applied to each kind of
 * token (cached ⊆ input, cacheWrite ⊆ input, reasoning ⊆ output), summed, then rounded up
 * once: `ceil(((in − cached − cacheWrite)·input + cached·cachedInput + cacheWrite·cacheWrite +
 * (out − reasoning)·output + reasoning·reasoning) / 1e6)`. Every amount the meter charges or
 * bounds in advance comes from here, so the two can never disagree; the settlement contract's
 * mispricing proof applies the same rule (cross-checked by test). `cacheWriteTokens` absent
 * counts as 0. Counts that break cached + cacheWrite ≤ input or reasoning ≤ output (which
 * {@link priceUsage} refuses, but a dishonest meter may sign) price their uncached input or
 * plain output as 0, as the contract's `priceOf` does: every listed token is still priced, so
 * such counts never lower the price a meter is held to.
 *
 * @example
 * const amount = priceTokens(resolveModelPrice(table, 'gpt-4o-mini', now), usage)
 */
export function priceTokens(price: ModelPrice, usage: Usage): bigint {
  const { inputTokens, cachedInputTokens, outputTokens, reasoningTokens } = usage
  const cacheWriteTokens = usage.cacheWriteTokens ?? 0
  const uncached = inputTokens - cachedInputTokens - cacheWriteTokens
  const plainOutput = outputTokens - reasoningTokens
  const exact =
    BigInt(Math.max(uncached, 0)) * price.input +
    BigInt(cachedInputTokens) * price.cachedInput +
    BigInt(cacheWriteTokens) * price.cacheWrite +
    BigInt(Math.max(plainOutput, 0)) * price.output +
    BigInt(reasoningTokens) * price.reasoning
  return (exact + PER - 1n) / PER
}

/**
 * The price version of a model in force at `at` (unix seconds). Throws
 * {@link UnknownModelError} when the model, its alias and its snapshot base are all unpriced,
 * or no version is in force yet.
 *
 * @example
 * resolveModelPrice(table, 'gpt-4o-2024-08-06', 1_760_000_000).output // 10_000_000n
 */
export function resolveModelPrice(table: PriceTable, model: string, at: number): ModelPrice {
  const resolved = resolvePrice(table, model, at)
  if (!resolved) throw new UnknownModelError({ model })
  return resolved.price
}

/**
 * Validates untrusted token counts: non-negative safe integers (`cacheWriteTokens` may be
 * absent), cached + cacheWrite ≤ input, reasoning ≤ output. Throws {@link InvalidUsageError}.
 */
export function checkUsage(usage: Usage): Usage {
  if (typeof usage !== 'object' || usage === null)
    throw new InvalidUsageError({
      shortMessage: 'Usage must be an object.',
      details: `Received ${usage === null ? 'null' : typeof usage}.`,
    })
  for (const key of [
    'inputTokens',
    'cachedInputTokens',
    'outputTokens',
    'reasoningTokens',
    'cacheWriteTokens',
  ] as const) {
    const raw: unknown = usage[key]
    const value = raw === undefined && key === 'cacheWriteTokens' ? 0 : raw
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
      throw new InvalidUsageError({
        shortMessage: `Usage field "${key}" must be a non-negative integer.`,
        details: `Received ${String(value)}.`,
      })
  }
  if (usage.cachedInputTokens > usage.inputTokens)
    throw new InvalidUsageError({
      shortMessage: 'Cached input tokens exceed input tokens.',
      details: 'Cached tokens are part of input tokens.',
    })
  if (usage.cachedInputTokens + (usage.cacheWriteTokens ?? 0) > usage.inputTokens)
    throw new InvalidUsageError({
      shortMessage: 'Cached and cache-write tokens exceed input tokens.',
      details: 'Cache reads and cache writes are disjoint parts of input tokens.',
    })
  if (usage.reasoningTokens > usage.outputTokens)
    throw new InvalidUsageError({
      shortMessage: 'Reasoning tokens exceed output tokens.',
      details: 'Reasoning tokens are part of output tokens.',
    })
  return usage
}
