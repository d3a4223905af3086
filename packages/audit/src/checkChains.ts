import { chainKey, type Hex, type RmaDomain, verifyReceipt, zeroHash } from '@rma/core'
import type { Discrepancy } from './AuditReport.js'
import type { BatchReceipt } from './parseBatch.js'

/** A settled receipt with the epoch that settled it. */
type Settled = BatchReceipt & { epoch: number }

/**
 * Walks every (asset, meter, user) chain across all settled epochs, in seq order: each receipt
 * settled once, seq from 1 without a hole, `prev` the hash of the receipt before (zero at seq
 * 1), and no two different receipts for one seq. Written here rather than taken from core's
 * `verifyReceiptChain`, which the settler runs: the audit must not share the code it checks.
 *
 * @example
 * const found = checkChains(epochs, domain)
 */
export function checkChains(
  epochs: readonly { status: { epoch: number }; receipts: BatchReceipt[] | null }[],
  domain: RmaDomain,
): Discrepancy[] {
  const chains = new Map<string, Settled[]>()
  for (const e of epochs)
    for (const r of e.receipts ?? []) {
      const key = chainKey(r.receipt.assetId, r.receipt.meter, r.receipt.user)
      const list = chains.get(key) ?? []
      list.push({ ...r, epoch: e.status.epoch })
      chains.set(key, list)
    }
  const found: Discrepancy[] = []
  for (const list of chains.values()) {
    list.sort((a, b) => a.receipt.seq - b.receipt.seq || a.epoch - b.epoch)
    const { meter, user } = list[0]!.receipt
    const accounts = [user.toLowerCase(), meter.toLowerCase()].sort()
    const who = `user ${user.toLowerCase()}, meter ${meter.toLowerCase()}`
    const bySeq = new Map<number, Settled>()
    let previous: { seq: number; hash: Hex } = { seq: 0, hash: zeroHash }
    for (const r of list) {
      const seen = bySeq.get(r.receipt.seq)
      if (seen) {
        if (seen.hash === r.hash)
          found.push({
            kind: 'duplicate-receipt',
            epoch: r.epoch,
            accounts,
            detail: `Receipt seq ${r.receipt.seq} of ${who} was settled twice (epoch ${seen.epoch} and epoch ${r.epoch}): the user was charged twice.`,
          })
        // Equivocation only when the meter signed both; a forged one is already a bad-signature.
        else if (
          verifyReceipt({ receipt: seen.receipt, domain }) &&
          verifyReceipt({ receipt: r.receipt, domain })
        )
          found.push({
            kind: 'equivocation',
            epoch: r.epoch,
            accounts,
            detail: `Two different receipts with seq ${r.receipt.seq} of ${who} were settled (epochs ${seen.epoch} and ${r.epoch}).`,
          })
        continue
      }
      bySeq.set(r.receipt.seq, r)
      if (r.receipt.seq !== previous.seq + 1)
        found.push({
          kind: 'chain-gap',
          epoch: r.epoch,
          accounts,
          detail: `The chain of ${who} jumps from seq ${previous.seq} to seq ${r.receipt.seq} in epoch ${r.epoch}: ${r.receipt.seq - previous.seq - 1} receipt(s) were never settled.`,
        })
      else if (r.receipt.prev.toLowerCase() !== previous.hash)
        found.push({
          kind: 'broken-chain',
          epoch: r.epoch,
          accounts,
          detail: `Receipt seq ${r.receipt.seq} of ${who} (epoch ${r.epoch}) does not link to ${previous.seq === 0 ? 'the chain start' : `seq ${previous.seq}`}: its prev is ${r.receipt.prev.toLowerCase()}, not ${previous.hash}.`,
        })
      previous = { seq: r.receipt.seq, hash: r.hash }
    }
  }
  return found
}
