import type { PriceTable } from './createPriceTable.js'

/**
 * The version of a price table in force at `at` (unix seconds): the latest `effectiveFrom` ≤
 * `at` over all models, or undefined when no price is in force yet. Two times with the same
 * version price every model alike, so a meter builds (and commits) one price-table tree per
 * version: `createPriceTableTree(table, { at: priceTableVersionAt(table, now) })`.
 *
 * @example
 * priceTableVersionAt(table, receipt.timestamp) // 1_767_225_600
 */
export function priceTableVersionAt(table: PriceTable, at: number): number | undefined {
  let version: number | undefined
  for (const versions of table.models.values())
    for (const v of versions)
      if (v.effectiveFrom <= at && (version === undefined || v.effectiveFrom > version))
        version = v.effectiveFrom
  return version
}
