import type { ModelPrice, PriceTable, PriceVersion } from './createPriceTable.js'
import { InvalidUsageError, UnknownModelError } from './errors.js'
import type { Usage } from './types.js'

const PER = 1_000_000n
/** `-2024-08-06` (OpenAI snapshots) or `-0613` (older ones). */
const snapshotSuffix = /-(\d{4}-\d{2}-\d{2}|\d{4})$/

/**
 * The price of one call in payment-token base units.
 *
 * Cached tokens are part of input tokens and reasoning tokens part of output tokens (OpenAI
 * semantics), so each token is priced once: (input − cached) at `input`, cached at
 * `cachedInput`, (output − reasoning) at `output`, reasoning at `reasoning`. The four products
 * are summed exactly and divided by 1,000,000 once, rounding up: a call is never charged less
 * than its exact price, and at most one base unit more.
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
 * token (cached ⊆ input, reasoning ⊆ output), summed, then rounded up once. Every amount the
 * meter charges or bounds in advance comes from here, so the two can never disagree.
 *
 * @example
 * const amount = priceTokens(resolveModelPrice(table, 'gpt-4o-mini', now), usage)
 */
export function priceTokens(price: ModelPrice, usage: Usage): bigint {
  const { inputTokens, cachedInputTokens, outputTokens, reasoningTokens } = usage
  const exact =
    BigInt(inputTokens - cachedInputTokens) * price.input +
    BigInt(cachedInputTokens) * price.cachedInput +
    BigInt(outputTokens - reasoningTokens) * price.output +
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
  const versions = lookup(table, model) ?? lookup(table, model.replace(snapshotSuffix, ''))
  let current: PriceVersion | undefined
  for (const version of versions ?? []) if (version.effectiveFrom <= at) current = version
  if (!current) throw new UnknownModelError({ model })
  return current
}

function lookup(table: PriceTable, name: string): readonly PriceVersion[] | undefined {
  return table.models.get(name) ?? table.models.get(table.aliases.get(name) ?? '')
}

function checkUsage(usage: Usage): Usage {
  if (typeof usage !== 'object' || usage === null)
    throw new InvalidUsageError(
      'Usage must be an object.',
      `Received ${usage === null ? 'null' : typeof usage}.`,
    )
  for (const key of [
    'inputTokens',
    'cachedInputTokens',
    'outputTokens',
    'reasoningTokens',
  ] as const) {
    const value = usage[key]
    if (!Number.isSafeInteger(value) || value < 0)
      throw new InvalidUsageError(
        `Usage field "${key}" must be a non-negative integer.`,
        `Received ${String(value)}.`,
      )
  }
  if (usage.cachedInputTokens > usage.inputTokens)
    throw new InvalidUsageError(
      'Cached input tokens exceed input tokens.',
      'Cached tokens are part of input tokens.',
    )
  if (usage.reasoningTokens > usage.outputTokens)
    throw new InvalidUsageError(
      'Reasoning tokens exceed output tokens.',
      'Reasoning tokens are part of output tokens.',
    )
  return usage
}
