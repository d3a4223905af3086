import {
  BaseError,
  createPriceTableTree,
  type Hex,
  type PriceTable,
  priceTableVersionAt,
  zeroHash,
} from '@rma/core'

const roots = new WeakMap<PriceTable, Map<number, Hex>>()

/**
 * The Merkle root of the price-table version in force at `at` (unix seconds), which the meter's
 * receipts name in `priceTable`: the tree `createPriceTableTree(prices, { at })` the issuer
 * commits on chain, built once per version. 32 zero bytes when no price is in force yet or the
 * table cannot be committed (a snapshot priced unlike its base): such receipts name no table,
 * so no mispricing proof can use one.
 *
 * @example
 * priceTableRoot(config.prices, receipt.timestamp) // 0x…, as committed with commitPriceTable
 */
export function priceTableRoot(prices: PriceTable, at: number): Hex {
  const version = priceTableVersionAt(prices, at)
  if (version === undefined) return zeroHash
  let byVersion = roots.get(prices)
  if (!byVersion) {
    byVersion = new Map()
    roots.set(prices, byVersion)
  }
  let root = byVersion.get(version)
  if (root === undefined) {
    try {
      root = createPriceTableTree(prices, { at: version }).root
    } catch (error) {
      if (!(error instanceof BaseError)) throw error
      root = zeroHash
    }
    byVersion.set(version, root)
  }
  return root
}
