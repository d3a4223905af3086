import {
  BaseError,
  createPriceTableRoots,
  createPriceTableTree,
  type FraudPriceTable,
  type PriceTable,
  type SignedUsageReceipt,
  zeroHash,
} from '@rma/core'

/**
 * The committed price tables the receipts name (`priceTable`) that the client's own price table
 * rebuilds: the tree of each version of `prices` (`createPriceTableRoots`, the meter's own rule)
 * whose root a receipt names. Roots it cannot rebuild are left out (a mispricing against them
 * cannot be proven from this table); so is everything for a table that cannot be committed.
 *
 * @example
 * const priceTables = fraudPriceTables(config.prices, evidence.receipts)
 */
export function fraudPriceTables(
  prices: PriceTable | undefined,
  receipts: readonly SignedUsageReceipt[],
): FraudPriceTable[] {
  if (!prices) return []
  const wanted = new Set<string>()
  for (const { priceTable } of receipts)
    if (typeof priceTable === 'string' && priceTable !== zeroHash)
      wanted.add(priceTable.toLowerCase())
  if (wanted.size === 0) return []
  try {
    return createPriceTableRoots(prices)
      .versions.filter(({ root }) => wanted.has(root.toLowerCase()))
      .map(({ effectiveFrom }) => createPriceTableTree(prices, { at: effectiveFrom }))
  } catch (error) {
    if (error instanceof BaseError) return []
    throw error
  }
}
