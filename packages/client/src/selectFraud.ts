import type { Fraud, Hex } from '@rma/core'
import { NothingToProveError } from './errors.js'

/**
 * The fraud to prove about one receipt (by hash) among those found: the one that pays the user
 * most (a receipt that is both an overcharge and a mispricing is paid once, so the larger
 * compensation is the one worth proving). Throws {@link NothingToProveError} when none names it.
 *
 * @example
 * const fraud = selectFraud(await client.rma.frauds(), record.hash)
 */
export function selectFraud(frauds: readonly Fraud[], receiptHash: Hex): Fraud {
  const hash = receiptHash.toLowerCase()
  let best: Fraud | undefined
  for (const fraud of frauds) {
    const names =
      fraud.kind === 'equivocation'
        ? fraud.hashes.some((h) => h.toLowerCase() === hash)
        : fraud.hash.toLowerCase() === hash
    if (names && (!best || fraud.compensation > best.compensation)) best = fraud
  }
  if (!best)
    throw new NothingToProveError({
      details: `Receipt ${receiptHash} is not an equivocation, an overcharge or a mispricing by the evidence held (its attestation, the other receipts of its seq, the committed price table).`,
    })
  return best
}
