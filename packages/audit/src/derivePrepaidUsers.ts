import type { DerivedUser } from './deriveAudit.js'
import type { PrepaidBatch } from './readPrepaidBatch.js'

/**
 * Per prepaid epoch, per user (lowercase): calls (the seq its chains gained, when the vouchers
 * are readable from the calldata, else 0), spend (its debits), rebate (credited back,
 * `floor(debit * usersBps / 10000)` per voucher; also `committed`: the contract paid it at once).
 *
 * @example
 * const users = derivePrepaidUsers(batches, 1500n).get(3) // epoch 3's users
 */
export function derivePrepaidUsers(
  batches: readonly PrepaidBatch[],
  usersBps: bigint,
): Map<number, Map<string, DerivedUser>> {
  const out = new Map<number, Map<string, DerivedUser>>()
  const heads = new Map<string, number>()
  const ordered = [...batches].sort(
    (x, y) => x.event.blockNumber - y.event.blockNumber || x.event.logIndex - y.event.logIndex,
  )
  for (const batch of ordered) {
    const users = new Map<string, DerivedUser>()
    for (const [i, o] of batch.outcomes.entries()) {
      if (!o.settled) continue
      const u = users.get(o.user) ?? { calls: 0, spend: 0n, rebate: 0n, committed: 0n }
      const rebate = (o.debit * usersBps) / 10_000n
      u.spend += o.debit
      u.rebate += rebate
      u.committed = (u.committed ?? 0n) + rebate
      const v = batch.vouchers?.[i]
      if (v) {
        const key = `${v.meter}:${v.user}`
        u.calls += v.seq - (heads.get(key) ?? 0)
        heads.set(key, v.seq)
      }
      users.set(o.user, u)
    }
    out.set(Number(batch.event.args.epoch), users)
  }
  return out
}
