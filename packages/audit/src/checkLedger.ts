import { chainKey, type RmaDomain, type SignedUsageReceipt, verifyReceipt } from '@rma/core'
import type { Discrepancy } from './AuditReport.js'
import type { BatchReceipt } from './parseBatch.js'
import { type AuditLedger, type LedgerReceipt, parseLedger } from './parseLedger.js'

/**
 * Compares a user's own receipts with what was settled: a receipt whose chain settled past
 * its seq but which is in no batch was omitted (`receipt-omitted`); a settled receipt, or
 * another receipt the user holds, with the same chain and seq but other content is meter
 * equivocation (`equivocation`: both carry the meter's valid signature). Receipts after the
 * last settled seq of their chain are simply not settled yet and are not reported.
 *
 * @example
 * const found = checkLedger(ledgerJson, epochs, { domain, assetId })
 */
export function checkLedger(
  ledger: AuditLedger | string,
  epochs: readonly { status: { epoch: number }; receipts: BatchReceipt[] | null }[],
  context: { domain: RmaDomain; assetId: string },
): Discrepancy[] {
  const held = parseLedger(ledger, context)
  const settled = new Map<string, { hash: string; epoch: number; receipt: SignedUsageReceipt }>()
  const heads = new Map<string, number>()
  const settledHashes = new Set<string>()
  for (const e of epochs)
    for (const r of e.receipts ?? []) {
      const key = chainKey(r.receipt.assetId, r.receipt.meter, r.receipt.user)
      settled.set(`${key}#${r.receipt.seq}`, {
        hash: r.hash,
        epoch: e.status.epoch,
        receipt: r.receipt,
      })
      settledHashes.add(r.hash)
      heads.set(key, Math.max(heads.get(key) ?? 0, r.receipt.seq))
    }
  // Per chain, its settled (seq, epoch) pairs: the first epoch that settled past a seq.
  const byChain = new Map<string, { seq: number; epoch: number }[]>()
  for (const e of epochs)
    for (const r of e.receipts ?? []) {
      const key = chainKey(r.receipt.assetId, r.receipt.meter, r.receipt.user)
      const list = byChain.get(key) ?? []
      list.push({ seq: r.receipt.seq, epoch: e.status.epoch })
      byChain.set(key, list)
    }
  const epochPast = (key: string, seq: number): number | undefined => {
    let best: number | undefined
    for (const r of byChain.get(key) ?? [])
      if (r.seq > seq && (best === undefined || r.epoch < best)) best = r.epoch
    return best
  }
  const found: Discrepancy[] = []
  const mine = new Map<string, LedgerReceipt>()
  for (const item of held) {
    const { receipt, hash } = item
    const key = chainKey(receipt.assetId, receipt.meter, receipt.user)
    const accounts = [receipt.user.toLowerCase(), receipt.meter.toLowerCase()].sort()
    const who = `user ${receipt.user.toLowerCase()}, meter ${receipt.meter.toLowerCase()}`
    const slot = `${key}#${receipt.seq}`
    const other = mine.get(slot)
    if (other && other.hash !== hash)
      found.push({
        kind: 'equivocation',
        accounts,
        detail: `Meter ${receipt.meter.toLowerCase()} signed two different receipts with seq ${receipt.seq} for user ${receipt.user.toLowerCase()} (${other.hash} and ${hash}); both are in the user's ledger.`,
      })
    mine.set(slot, item)
    if (settledHashes.has(hash)) continue
    const rival = settled.get(slot)
    // Equivocation needs the meter's signature on both; a forged receipt in the user's seq is a
    // bad-signature finding, and the user's own receipt was then omitted.
    if (rival && verifyReceipt({ receipt: rival.receipt, domain: context.domain })) {
      found.push({
        kind: 'equivocation',
        epoch: rival.epoch,
        accounts,
        detail: `Epoch ${rival.epoch} settled receipt ${rival.hash} as seq ${receipt.seq} of ${who}, but the user holds a different receipt ${hash} for that seq, also signed by the meter.`,
      })
      continue
    }
    if (receipt.seq <= (heads.get(key) ?? 0)) {
      const epoch = rival?.epoch ?? epochPast(key, receipt.seq)
      found.push({
        kind: 'receipt-omitted',
        ...(epoch !== undefined ? { epoch } : {}),
        accounts,
        detail: `Receipt seq ${receipt.seq} of ${who} (amount ${receipt.amount}, hash ${hash}) is in no batch, though its chain was settled up to seq ${heads.get(key)}.`,
      })
    }
  }
  return found
}
