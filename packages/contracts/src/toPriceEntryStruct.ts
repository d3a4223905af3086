/** A price-table leaf as the settlement contract's `PriceEntry` tuple (prices per million tokens). */
export type PriceEntryStruct = {
  model: string
  input: bigint
  cachedInput: bigint
  cacheWrite: bigint
  output: bigint
  reasoning: bigint
}

/** A price-table entry of @rma/core (`priceEntryOf`, `createPriceTableTree(...).entries`). */
export type PriceEntryInput = {
  model: string
  input: bigint
  cachedInput: bigint
  cacheWrite?: bigint
  output: bigint
  reasoning: bigint
}

/**
 * Turns a price-table entry into the `PriceEntry` tuple of `proveMispricing` (`cacheWrite`
 * defaults to `input`, as in @rma/core's `ModelPrice`).
 *
 * @example
 * await settlement.proveMispricing(toReceiptStruct(r), r.signature, toPriceEntryStruct(entry), tree.getProof(r.model))
 */
export function toPriceEntryStruct(entry: PriceEntryInput): PriceEntryStruct {
  return {
    model: entry.model,
    input: entry.input,
    cachedInput: entry.cachedInput,
    cacheWrite: entry.cacheWrite ?? entry.input,
    output: entry.output,
    reasoning: entry.reasoning,
  }
}
