import {
  createPriceTableTree,
  type FraudPriceTable,
  type PriceTable,
  type SignedUsageReceipt,
  zeroHash,
} from '@rma/core'

/**
 * The committed price tables the receipts name (`priceTable`) that the client's own price table
 * rebuilds: the tree of a table holds only prices, so the tree at any time equals the tree at
 * the latest price change before it, and trying every price change (and each receipt's time)
 * finds every root the table ever had. Roots it cannot rebuild are left out (a mispricing
 * against them cannot be proven from this table).
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
  const found = new Map<string, FraudPriceTable>()
  if (wanted.size === 0) return []
  const times = new Set<number>(receipts.map((r) => r.timestamp))
  for (const versions of prices.models.values())
    for (const { effectiveFrom } of versions) times.add(effectiveFrom)
  for (const at of [...times].sort((a, b) => a - b)) {
    if (found.size === wanted.size) break
    try {
      const tree = createPriceTableTree(prices, { at })
      const root = tree.root.toLowerCase()
      if (wanted.has(root) && !found.has(root)) found.set(root, tree)
    } catch {}
  }
  return [...found.values()]
}
