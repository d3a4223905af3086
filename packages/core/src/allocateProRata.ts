import { InvalidAllocationError } from './errors.js'

/**
 * Divides `total` base units in proportion to `weights` with exact integer math, by largest
 * remainder: each part gets `floor(total × w / W)`, then the few units left (fewer than the
 * number of parts) go one each to the largest remainders, ties to the lower index. The parts
 * always sum to `total`, a zero weight always gets 0, and the result depends only on the
 * inputs (order them deterministically, e.g. by address, for a reproducible split).
 *
 * Throws {@link InvalidAllocationError} for negative values, or a positive total with no weight.
 *
 * @example
 * allocateProRata(100n, [1n, 1n, 1n]) // [34n, 33n, 33n]
 */
export function allocateProRata(total: bigint, weights: readonly bigint[]): bigint[] {
  if (typeof total !== 'bigint' || total < 0n)
    throw new InvalidAllocationError({
      shortMessage: `Total must be a non-negative bigint, got ${String(total)}.`,
    })
  let sum = 0n
  for (const weight of weights) {
    if (typeof weight !== 'bigint' || weight < 0n)
      throw new InvalidAllocationError({
        shortMessage: `Weights must be non-negative bigints, got ${String(weight)}.`,
      })
    sum += weight
  }
  if (sum === 0n) {
    if (total === 0n) return weights.map(() => 0n)
    throw new InvalidAllocationError({
      shortMessage: `Cannot allocate ${total} over zero total weight.`,
    })
  }
  const parts = new Array<bigint>(weights.length)
  const remainders = new Array<bigint>(weights.length)
  let left = total
  for (let i = 0; i < weights.length; i++) {
    const scaled = total * weights[i]!
    parts[i] = scaled / sum
    remainders[i] = scaled % sum
    left -= parts[i]!
  }
  if (left > 0n) {
    const order = weights.map((_, i) => i)
    order.sort((a, b) =>
      remainders[b]! > remainders[a]! ? 1 : remainders[b]! < remainders[a]! ? -1 : a - b,
    )
    for (let k = 0; k < Number(left); k++) parts[order[k]!]! += 1n
  }
  return parts
}
