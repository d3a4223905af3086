import type { DerivedUser } from './deriveAudit.js'
import type { PrepaidBatch } from './readPrepaidBatch.js'
import { voucherRebate } from './voucherRebate.js'

/** One prepaid epoch's users, and the receipts its vouchers cover (null: not known). */
export type PrepaidEpochUsers = { users: Map<string, DerivedUser>; receiptCount: number | null }

/**
 * Per prepaid epoch, per user (lowercase): spend (its debits), rebate (credited back,
 * `floor(debit * usersBps / 10000)` per voucher; also `committed`: the contract paid it at
 * once) and calls: the seq its chains gained, one receipt per seq. Calls need the vouchers of
 * the calldata and each chain's previous settled seq: after a settlement whose vouchers cannot
 * be read, the chains of its users are unknown until their next voucher, whose epoch's
 * `receiptCount` is then null (and its calls not counted).
 *
 * @example
 * const { users, receiptCount } = derivePrepaidUsers(batches, 1500n).get(3)!
 */
export function derivePrepaidUsers(
  batches: readonly PrepaidBatch[],
  usersBps: bigint,
): Map<number, PrepaidEpochUsers> {
  const out = new Map<number, PrepaidEpochUsers>()
  const heads = new Map<string, number>()
  // Users with a voucher in a settlement whose vouchers cannot be read, and their chains seen since.
  const stale = new Set<string>()
  const synced = new Set<string>()
  const ordered = [...batches].sort(
    (x, y) => x.event.blockNumber - y.event.blockNumber || x.event.logIndex - y.event.logIndex,
  )
  for (const batch of ordered) {
    const users = new Map<string, DerivedUser>()
    let receiptCount: number | null = batch.vouchers ? 0 : null
    for (const [i, o] of batch.outcomes.entries()) {
      if (!o.settled) continue
      const u = users.get(o.user) ?? { calls: 0, spend: 0n, rebate: 0n, committed: 0n }
      const rebate = voucherRebate(o.debit, usersBps)
      u.spend += o.debit
      u.rebate += rebate
      u.committed = (u.committed ?? 0n) + rebate
      users.set(o.user, u)
      const v = batch.vouchers?.[i]
      if (!v) {
        stale.add(o.user)
        for (const key of synced) if (key.endsWith(`:${o.user}`)) synced.delete(key)
        continue
      }
      const key = `${v.meter}:${v.user}`
      if (!stale.has(v.user) || synced.has(key)) {
        const gained = v.seq - (heads.get(key) ?? 0)
        u.calls += gained
        if (receiptCount !== null) receiptCount += gained
      } else receiptCount = null
      heads.set(key, v.seq)
      if (stale.has(v.user)) synced.add(key)
    }
    out.set(Number(batch.event.args.epoch), { users, receiptCount })
  }
  return out
}
