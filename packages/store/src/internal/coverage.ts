import type { ChainSummary, ReserveParameters, ReserveReturnType } from '@rma/core'
import { chainKeyOf, type LowerChain, lower, lowerChain } from './receipts.js'

/** A reservation as every adapter keeps it (lowercase chain). */
export type Hold = { id: string; chain: LowerChain; amount: bigint; expiresAt: number }

/**
 * The coverage rule, shared by the adapters, applied inside whatever makes it atomic (a lock, a
 * transaction): pending is Σ over the user's chains at `assets` of (head cumulative − settled,
 * at least 0); the call is reserved only if pending + the live holds + `amount` ≤ `limit` and
 * the chain's unacked tail (receipts after its latest ack plus its live holds) is under
 * `maxUnacked`.
 */
export function evaluateReserve(
  parameters: ReserveParameters,
  heads: readonly ChainSummary[],
  ackedSeq: number,
  holds: readonly Hold[],
  now: number,
): ReserveReturnType {
  const assets = new Set(parameters.assets.map(lower))
  const chain = lowerChain(parameters.chain)
  const key = chainKeyOf(chain)
  let pending = 0n
  let headSeq = 0
  for (const head of heads) {
    const ref = lowerChain(head)
    if (ref.user !== chain.user || !assets.has(ref.assetId)) continue
    const k = chainKeyOf(ref)
    const settled = parameters.settled.get(k) ?? 0n
    if (head.cumulativeAmount > settled) pending += head.cumulativeAmount - settled
    if (k === key) headSeq = head.seq
  }
  let held = 0n
  let inFlight = 0
  for (const hold of holds) {
    if (hold.expiresAt <= now || hold.chain.user !== chain.user) continue
    held += hold.amount
    if (chainKeyOf(hold.chain) === key) inFlight++
  }
  const unacked = Math.max(0, headSeq - ackedSeq) + inFlight
  const found = { pending, held, unacked }
  if (parameters.maxUnacked !== undefined && unacked >= parameters.maxUnacked)
    return { reserved: false, reason: 'unacked', ...found }
  if (pending + held + parameters.amount > parameters.limit)
    return { reserved: false, reason: 'balance', ...found }
  return { reserved: true, ...found }
}

/**
 * Reservations held in this process, for the single-process stores (memory, SQLite: one process
 * writes a file). `reserve` runs the rule and records the hold with no await in between, so it
 * is atomic on the event loop.
 */
export function createHoldBook() {
  const holds = new Map<string, Hold>()
  const byUser = new Map<string, Set<string>>()
  return {
    holdsOf(user: string, now: number): Hold[] {
      const out: Hold[] = []
      for (const id of byUser.get(lower(user)) ?? []) {
        const hold = holds.get(id)!
        if (hold.expiresAt <= now) this.release(id)
        else out.push(hold)
      }
      return out
    },
    add(parameters: ReserveParameters): void {
      const chain = lowerChain(parameters.chain)
      this.release(parameters.id)
      holds.set(parameters.id, {
        id: parameters.id,
        chain,
        amount: parameters.amount,
        expiresAt: parameters.expiresAt,
      })
      const ids = byUser.get(chain.user) ?? new Set<string>()
      byUser.set(chain.user, ids)
      ids.add(parameters.id)
    },
    release(id: string): void {
      const hold = holds.get(id)
      if (!hold) return
      holds.delete(id)
      const ids = byUser.get(hold.chain.user)
      ids?.delete(id)
      if (ids?.size === 0) byUser.delete(hold.chain.user)
    },
  }
}
