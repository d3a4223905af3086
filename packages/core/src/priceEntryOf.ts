import type { PriceTable } from './createPriceTable.js'
import { UnknownModelError } from './errors.js'
import { resolvePrice } from './internal/resolvePrice.js'

/**
 * One leaf of a committed price table: a priced name (or alias) and its prices in base units
 * per 1,000,000 tokens. The settlement contract's `PriceEntry` struct, field for field.
 */
export type PriceEntry = {
  model: string
  input: bigint
  cachedInput: bigint
  cacheWrite: bigint
  output: bigint
  reasoning: bigint
}

/**
 * The price-table entry that prices a receipt of `model` at `at` (unix seconds): the leaf of
 * the exact name or alias, else of the name without its snapshot suffix (the same resolution as
 * {@link priceUsage}, and the one the contract's mispricing proof accepts), with the prices in
 * force at `at`. This is what a challenger proves with `createPriceTableTree(...).getProof`.
 * Throws {@link UnknownModelError} when nothing prices the model at `at`.
 *
 * @example
 * priceEntryOf(table, 'gpt-4o-2024-08-06', receipt.timestamp)
 * // { model: 'gpt-4o', input: 2_500_000n, cachedInput: 1_250_000n, cacheWrite: 2_500_000n, output: 10_000_000n, reasoning: 10_000_000n }
 */
export function priceEntryOf(table: PriceTable, model: string, at: number): PriceEntry {
  const resolved = resolvePrice(table, model, at)
  if (!resolved) throw new UnknownModelError({ model })
  const { input, cachedInput, cacheWrite, output, reasoning } = resolved.price
  return { model: resolved.name, input, cachedInput, cacheWrite, output, reasoning }
}
