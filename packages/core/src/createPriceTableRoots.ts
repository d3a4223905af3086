import type { PriceTable } from './createPriceTable.js'
import { createPriceTableTree } from './createPriceTableTree.js'
import { zeroHash } from './internal/bytes.js'
import type { Hex } from './types.js'

/** The price-table root of every version of a table, built once. */
export type PriceTableRoots = {
  /** Each version's `effectiveFrom` and root, in time order. */
  readonly versions: readonly { effectiveFrom: number; root: Hex }[]
  /**
   * The root of the version in force at `at` (unix seconds): what a receipt priced at `at`
   * carries as `priceTable`. 32 zero bytes before any price is in force (nothing is priced then).
   */
  rootAt(at: number): Hex
}

/**
 * Builds the price-table tree of each version of `prices` once (a meter prices every call with
 * one of them, a client checks every receipt against one; rebuilding per receipt would hash the
 * whole table each time). `rootAt` follows {@link priceTableVersionAt}. Throws
 * {@link InvalidPriceTableError} for a table that cannot be committed (a snapshot priced unlike its
 * base, an alias named like a model): such a table would let an honest receipt be "proven"
 * mispriced.
 *
 * @example
 * const roots = createPriceTableRoots(prices)
 * receipt.priceTable = roots.rootAt(timestamp)
 */
export function createPriceTableRoots(prices: PriceTable): PriceTableRoots {
  const times = new Set<number>()
  for (const versions of prices.models.values())
    for (const v of versions) times.add(v.effectiveFrom)
  const versions = [...times]
    .sort((a, b) => a - b)
    .map((effectiveFrom) => ({
      effectiveFrom,
      root: createPriceTableTree(prices, { at: effectiveFrom }).root,
    }))
  return {
    versions,
    rootAt(at) {
      for (let i = versions.length - 1; i >= 0; i--)
        if (versions[i]!.effectiveFrom <= at) return versions[i]!.root
      return zeroHash
    },
  }
}
