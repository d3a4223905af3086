import { type Address, chainKey, type Hex, type RmaDomain, verifyAck } from '@rma/core'
import { Signature } from 'ethers'
import type { Discrepancy } from './AuditReport.js'
import type { MeterHistory } from './createMeterHistory.js'
import type { LedgerReceipt } from './parseLedger.js'
import type { PrepaidBatch, SubmittedVoucher } from './readPrepaidBatch.js'
import { voucherRebate } from './voucherRebate.js'

/**
 * Re-derives every prepaid settlement from its calldata and events, in chain order, with its
 * own copy of each chain's settled (seq, cumulative amount): each applied voucher must carry
 * its user's ReceiptAck signature for this asset, meter, chain and contract, come from a meter
 * authorised when it settled, raise both seq and cumulative amount of its chain, and debit
 * exactly the increase; the debits must sum to the epoch's revenue and the rebates credited,
 * `floor(debit * usersBps / 10000)` each, to its users' share. With a ledger (the user's own
 * receipts), a voucher settled above the cumulative amount of the user's receipt of that seq
 * (or past its last receipt) is an `overcharge`. A voucher whose seq range covers receipts a
 * postpaid batch of the asset settled (`postpaid`) debits them a second time: `duplicate-receipt`
 * (the contract allows both modes on one asset, and its voucher state starts at zero).
 *
 * @example
 * const found = checkPrepaid(batches, { domain, assetId, meters, usersBps, held })
 */
export function checkPrepaid(
  batches: readonly PrepaidBatch[],
  context: {
    domain: RmaDomain
    assetId: Hex
    meters: MeterHistory
    usersBps: bigint
    settlers: ReadonlyMap<number, string>
    held?: readonly LedgerReceipt[] | undefined
    /** Per chain (`chainKey`), the seqs postpaid batches settled, with their epoch. */
    postpaid?: ReadonlyMap<string, ReadonlyMap<number, number>> | undefined
  },
): Discrepancy[] {
  const found: Discrepancy[] = []
  const heads = new Map<string, { seq: number; cumulative: bigint }>()
  // Users of a settlement whose vouchers cannot be read: their chains' heads are unknown until
  // each chain's next voucher, which is then not compared with a head (no false findings).
  const stale = new Set<string>()
  const synced = new Set<string>()
  const ledger = ledgerIndex(context.held ?? [])
  const ordered = [...batches].sort(
    (x, y) => x.event.blockNumber - y.event.blockNumber || x.event.logIndex - y.event.logIndex,
  )
  for (const batch of ordered) {
    const n = Number(batch.event.args.epoch)
    const settler = context.settlers.get(n) ?? ''
    const settledOutcomes = batch.outcomes.filter((o) => o.settled)
    const debited = settledOutcomes.reduce((sum, o) => sum + (o.settled ? o.debit : 0n), 0n)
    const users = [...new Set(settledOutcomes.map((o) => o.user))].sort()
    if (settledOutcomes.length !== Number(batch.event.args.settledVouchers))
      found.push({
        kind: 'voucher-mismatch',
        epoch: n,
        accounts: users,
        detail: `Epoch ${n} reports ${batch.event.args.settledVouchers} vouchers applied but ${settledOutcomes.length} VoucherSettled events.`,
      })
    if (debited !== (batch.event.args.debited as bigint))
      found.push({
        kind: 'revenue-mismatch',
        epoch: n,
        accounts: users,
        detail: `Epoch ${n}'s revenue on chain is ${batch.event.args.debited}, but its vouchers debited ${debited}.`,
      })
    const rebates = settledOutcomes.reduce(
      (sum, o) => sum + (o.settled ? voucherRebate(o.debit, context.usersBps) : 0n),
      0n,
    )
    if (rebates !== (batch.event.args.usersAmount as bigint))
      found.push({
        kind: 'rebate-mismatch',
        epoch: n,
        accounts: users,
        detail: `Epoch ${n} credited ${batch.event.args.usersAmount} to the users' balances; floor(debit × ${context.usersBps} / 10000) per voucher sums to ${rebates}.`,
      })
    if (!batch.vouchers) {
      found.push({
        kind: 'voucher-mismatch',
        epoch: n,
        accounts: [settler, ...users].filter(Boolean),
        detail: `Epoch ${n}'s vouchers cannot be read from transaction ${batch.event.transactionHash} (not a direct settlePrepaid call of this asset): its debits cannot be checked against user signatures.`,
      })
      for (const user of users) {
        stale.add(user)
        for (const key of synced) if (key.endsWith(`:${user}`)) synced.delete(key)
      }
      continue
    }
    for (const [i, outcome] of batch.outcomes.entries()) {
      if (!outcome.settled) continue
      const v = batch.vouchers[i]!
      const accounts = [v.user, v.meter]
      const key = chainKey(context.assetId, v.meter, v.user)
      const head = heads.get(key) ?? { seq: 0, cumulative: 0n }
      const known = !stale.has(v.user) || synced.has(key)
      if (stale.has(v.user)) synced.add(key)
      const where = `voucher ${v.user} / meter ${v.meter} seq ${v.seq} (epoch ${n})`
      if (outcome.user !== v.user)
        found.push({
          kind: 'voucher-mismatch',
          epoch: n,
          accounts: [...accounts, outcome.user],
          detail: `The ${where} is reported settled for ${outcome.user}.`,
        })
      if (!signed(v, context)) {
        found.push({
          kind: 'voucher-signature',
          epoch: n,
          accounts,
          detail: `The ${where} does not carry its user's ReceiptAck signature for this asset, meter, chain and contract, yet debited ${outcome.debit}.`,
        })
      }
      if (!context.meters.authorisedAtLog(v.meter, batch.event))
        found.push({
          kind: 'unauthorised-meter',
          epoch: n,
          accounts,
          detail: `The ${where} was settled while its meter was not authorised.`,
        })
      if (!known) {
        // The chain's head is unknown: nothing to compare the rise and the debit with.
      } else if (v.seq <= head.seq || v.cumulativeAmount <= head.cumulative)
        found.push({
          kind: 'voucher-mismatch',
          epoch: n,
          accounts,
          detail: `The ${where} (cumulative ${v.cumulativeAmount}) does not raise its chain's settled seq ${head.seq} and cumulative ${head.cumulative}.`,
        })
      else if (outcome.debit !== v.cumulativeAmount - head.cumulative)
        found.push({
          kind: 'voucher-mismatch',
          epoch: n,
          accounts,
          detail: `The ${where} debited ${outcome.debit}, but its cumulative amount rose by ${v.cumulativeAmount - head.cumulative} (${head.cumulative} → ${v.cumulativeAmount}).`,
        })
      const twice = [...(context.postpaid?.get(key) ?? new Map<number, number>())]
        .filter(([seq]) => known && seq > head.seq && seq <= v.seq)
        .sort(([x], [y]) => x - y)
      if (twice.length > 0)
        found.push({
          kind: 'duplicate-receipt',
          epoch: n,
          accounts,
          detail: `The ${where} debits seqs ${head.seq + 1}..${v.seq}, of which ${twice.map(([seq, e]) => `${seq} (epoch ${e})`).join(', ')} a postpaid batch already settled: the user pays them twice.`,
        })
      const held = ledger.get(key)
      if (held) {
        const same = held.bySeq.get(v.seq)
        const acked = same ?? held.last
        if (v.cumulativeAmount > acked.cumulativeAmount || (same && same.hash !== v.receiptHash))
          found.push({
            kind: 'overcharge',
            epoch: n,
            accounts,
            detail: same
              ? `The ${where} settles cumulative ${v.cumulativeAmount} for receipt ${v.receiptHash}; the user's receipt of seq ${v.seq} is ${same.hash} for cumulative ${same.cumulativeAmount}.`
              : `The ${where} settles cumulative ${v.cumulativeAmount}, past the user's last receipt (seq ${acked.seq}, cumulative ${acked.cumulativeAmount}).`,
          })
      }
      heads.set(key, { seq: v.seq, cumulative: v.cumulativeAmount })
    }
  }
  return found
}

function signed(v: SubmittedVoucher, context: { domain: RmaDomain; assetId: Hex }): boolean {
  try {
    const signature = Signature.from({ r: v.r, yParityAndS: v.vs }).serialized as Hex
    return verifyAck({
      ack: {
        assetId: context.assetId,
        user: v.user as Address,
        meter: v.meter as Address,
        seq: v.seq,
        receiptHash: v.receiptHash,
        cumulativeAmount: v.cumulativeAmount,
        signature,
      },
      domain: context.domain,
    })
  } catch {
    return false
  }
}

type HeldReceipt = { seq: number; hash: string; cumulativeAmount: bigint }

/** The user's receipts per chain: by seq, and the last one. */
function ledgerIndex(held: readonly LedgerReceipt[]) {
  const chains = new Map<string, { bySeq: Map<number, HeldReceipt>; last: HeldReceipt }>()
  for (const { receipt, hash } of held) {
    const key = chainKey(receipt.assetId, receipt.meter, receipt.user)
    const r = {
      seq: receipt.seq,
      hash: hash.toLowerCase(),
      cumulativeAmount: receipt.cumulativeAmount,
    }
    const c = chains.get(key) ?? { bySeq: new Map(), last: r }
    c.bySeq.set(r.seq, r)
    if (r.seq > c.last.seq) c.last = r
    chains.set(key, c)
  }
  return chains
}
