import { type RmaSettlementContract, toVoucher, type Voucher } from '@rma/contracts'
import {
  type Address,
  type ChainRef,
  chainKey,
  type Hex,
  type ReceiptStore,
  type RmaDomain,
  type SignedReceiptAck,
  type StoredReceipt,
  verifyAck,
} from '@rma/core'
import { type ContractTransactionReceipt, getAddress } from 'ethers'
import type { EventEmitter } from 'eventemitter3'
import type { SettlerEvents } from './createSettler.js'
import {
  InvalidBatchReceiptsError,
  type SettlementError,
  TransactionRevertedError,
} from './errors.js'

/**
 * Why a voucher was not settled: the contract's `VoucherSkipped` reasons, and
 * `ReceiptMismatch` when the ack's cumulative amount is not the acked receipt's (the settler
 * never submits a voucher that does not add up to the receipts).
 */
export type VoucherSkipReason =
  | 'MeterNotAuthorised'
  | 'NotNewer'
  | 'OutOfRange'
  | 'BadSignature'
  | 'InsufficientBalance'
  | 'ReceiptMismatch'

/** The contract's `SkipReason` enum, in its order. */
const onChainReasons = [
  'MeterNotAuthorised',
  'NotNewer',
  'OutOfRange',
  'BadSignature',
  'InsufficientBalance',
] as const satisfies readonly VoucherSkipReason[]

/** A voucher left out of a prepaid settlement, reported once per (chain, seq, reason). */
export type SkippedVoucher = {
  meter: Address
  user: Address
  seq: number
  reason: VoucherSkipReason
  /** True when the contract skipped it (`VoucherSkipped`); false when the settler held it back. */
  onChain: boolean
  /**
   * Whether a later round may submit this same voucher: only for `InsufficientBalance` (after
   * a top-up) and `MeterNotAuthorised` (if the meter is authorised again). Otherwise it waits
   * for a newer ack of the chain.
   */
  retried: boolean
}

/** One prepaid settlement, as `settleOnce` returns it in `mode: 'prepaid'`. */
export type PrepaidSettleResult = {
  status: 'settled'
  mode: 'prepaid'
  epoch: number
  /** The sum of the debits (the batch's revenue, split like a postpaid batch's). */
  revenue: bigint
  /** Receipts the applied vouchers cover (assigned to this epoch in the store). */
  receiptCount: number
  /** Vouchers submitted, and how many the contract applied. */
  vouchers: number
  settledVouchers: number
  /** Vouchers held back before sending and those the contract skipped, this round. */
  skipped: SkippedVoucher[]
  txHash: Hex
  gasUsed: bigint
  /** Always 0: the provider pays nothing in, so nothing is approved. */
  approveGasUsed: 0n
  depositGasUsed: 0n
  recovered: false
}

export type PrepaidIdleResult = {
  status: 'idle'
  mode: 'prepaid'
  unsettled: number
  skipped: SkippedVoucher[]
}

export type PrepaidRoundContext = {
  store: ReceiptStore
  contract: RmaSettlementContract
  assetId: Hex
  domain: () => Promise<RmaDomain>
  token: () => Promise<Address>
  events: EventEmitter<SettlerEvents>
  call: <T>(step: () => Promise<T>) => Promise<T>
  nonce: () => Promise<number>
  confirmations: number
  maxReceipts: number
  maxVouchers: number
  refused: (error: unknown) => Promise<SettlementError>
}

/** A chain's meter and user, checksummed for reports (stores keep them lowercase). */
function named(chain: ChainRef): { meter: Address; user: Address } {
  return { meter: getAddress(chain.meter) as Address, user: getAddress(chain.user) as Address }
}

/** A chain's candidate voucher: its latest ack and what it adds over the settled one. */
type Candidate = {
  key: string
  chain: ChainRef
  ack: SignedReceiptAck
  increase: bigint
  receipts: StoredReceipt[]
}

/**
 * The settler's prepaid round. For each chain with unsettled receipts it reads the store's
 * latest ack (the user's voucher) and the chain's settled voucher on chain, and submits the
 * acks that add something, in one `settlePrepaid`, after checking what the contract would
 * check (meter, signature, balance) plus one rule of its own: the ack's cumulative amount must
 * be the acked receipt's. The receipts a settled voucher covers are assigned to its epoch in
 * the store. A voucher that fails for a reason that cannot change (bad signature, a cumulative
 * that does not add up, out of range) is reported once and never submitted again; it waits for
 * a newer ack. One refused for lack of balance is held back until the balance covers it.
 */
export function createPrepaidRound(ctx: PrepaidRoundContext) {
  const { store, contract, assetId } = ctx
  /** Acks never to submit again, by chain key: the seq of the last rejected one. */
  const rejected = new Map<string, number>()
  /** Reported (chain, seq, reason) triples, so a held-back voucher is reported once. */
  const reported = new Set<string>()
  /**
   * Receipts the last round read but could not settle (unacked tails, untrusted meters, short
   * balances): the next round reads that many more, so they never take every slot of the read.
   */
  let stuck = 0

  function report(skipped: SkippedVoucher[], s: SkippedVoucher) {
    const id = `${s.meter.toLowerCase()}:${s.user.toLowerCase()}:${s.seq}:${s.reason}`
    if (s.onChain || !reported.has(id)) {
      reported.add(id)
      skipped.push(s)
      ctx.events.emit('voucher:skipped', s)
    }
  }

  async function settleOnce(
    options: { minReceipts?: number } = {},
  ): Promise<PrepaidSettleResult | PrepaidIdleResult> {
    const listed = await store.listUnsettled({ assetId, limit: ctx.maxReceipts + stuck })
    const skipped: SkippedVoucher[] = []
    const idle = (): PrepaidIdleResult => ({
      status: 'idle',
      mode: 'prepaid',
      unsettled: listed.length,
      skipped,
    })
    if (listed.length === 0 || listed.length < (options.minReceipts ?? 1)) return idle()
    const byChain = new Map<string, { chain: ChainRef; receipts: StoredReceipt[] }>()
    for (const stored of listed) {
      const { meter, user } = stored.receipt
      const key = chainKey(assetId, meter, user)
      const entry = byChain.get(key) ?? { chain: { assetId, meter, user }, receipts: [] }
      entry.receipts.push(stored)
      byChain.set(key, entry)
    }
    const d = await ctx.domain()
    const epochNow = Number((await ctx.call(() => contract.getAsset(assetId))).epoch)
    const candidates: Candidate[] = []
    await Promise.all(
      [...byChain].map(async ([key, { chain, receipts }]) => {
        const [ack, settled] = await Promise.all([
          store.latestAck(chain),
          ctx.call(() => contract.settledVoucher(assetId, chain.meter, chain.user)),
        ])
        const settledSeq = Number(settled.seq)
        // Receipts a voucher on chain already covers (settled by another settler, or before a
        // crash): assign them, to the latest epoch, and go on.
        const covered = receipts.filter((r) => r.receipt.seq <= settledSeq)
        if (covered.length > 0) await markSettled(covered, epochNow)
        if (!ack || ack.seq <= settledSeq || rejected.get(key) === ack.seq) return
        const base = { ...named(chain), seq: ack.seq, onChain: false }
        const acked = await store.getByHash(ack.receiptHash)
        if (!acked || acked.receipt.cumulativeAmount !== ack.cumulativeAmount) {
          rejected.set(key, ack.seq)
          return report(skipped, { ...base, reason: 'ReceiptMismatch', retried: false })
        }
        const increase = ack.cumulativeAmount - settled.cumulativeAmount
        if (increase <= 0n) {
          rejected.set(key, ack.seq)
          return report(skipped, { ...base, reason: 'NotNewer', retried: false })
        }
        if (!verifyAck({ ack, domain: d })) {
          rejected.set(key, ack.seq)
          return report(skipped, { ...base, reason: 'BadSignature', retried: false })
        }
        candidates.push({
          key,
          chain,
          ack,
          increase,
          receipts: receipts.filter((r) => r.receipt.seq > settledSeq && r.receipt.seq <= ack.seq),
        })
      }),
    )
    const chosen = await affordable(candidates, skipped)
    const covered = chosen.reduce((n, c) => n + c.receipts.length, 0)
    stuck = listed.length - covered
    if (chosen.length === 0) return idle()
    // Grouped by meter: the contract reads a meter's authorisation once per run.
    chosen.sort((a, b) => (a.chain.meter.toLowerCase() < b.chain.meter.toLowerCase() ? -1 : 1))
    const vouchers: Voucher[] = chosen.map((c) => toVoucher(c.ack))
    return send(chosen, vouchers, skipped, epochNow + 1)
  }

  /** Candidates from trusted meters whose increases the users' balances cover, in order. */
  async function affordable(candidates: Candidate[], skipped: SkippedVoucher[]) {
    const meters = [...new Set(candidates.map((c) => c.chain.meter.toLowerCase()))]
    const trusted = new Set<string>()
    await Promise.all(
      meters.map(async (m) => {
        if (await ctx.call(() => contract.isMeter(assetId, m))) trusted.add(m)
      }),
    )
    const token = await ctx.token()
    const users = [...new Set(candidates.map((c) => c.chain.user.toLowerCase()))]
    const left = new Map<string, bigint>()
    await Promise.all(
      users.map(async (u) => {
        const { balance } = await ctx.call(() => contract.prepaidBalance(token, u))
        left.set(u, balance)
      }),
    )
    const chosen: Candidate[] = []
    for (const c of candidates) {
      if (chosen.length >= ctx.maxVouchers) break
      const base = { ...named(c.chain), seq: c.ack.seq, onChain: false }
      if (!trusted.has(c.chain.meter.toLowerCase())) {
        report(skipped, { ...base, reason: 'MeterNotAuthorised', retried: true })
        continue
      }
      const user = c.chain.user.toLowerCase()
      const balance = left.get(user) ?? 0n
      if (c.increase > balance) {
        report(skipped, { ...base, reason: 'InsufficientBalance', retried: true })
        continue
      }
      left.set(user, balance - c.increase)
      chosen.push(c)
    }
    return chosen
  }

  async function send(
    chosen: Candidate[],
    vouchers: Voucher[],
    skipped: SkippedVoucher[],
    expectedEpoch: number,
  ): Promise<PrepaidSettleResult> {
    let mined: ContractTransactionReceipt | null
    let txHash: Hex
    try {
      const tx = await ctx.call(async () =>
        contract.settlePrepaid(assetId, vouchers, { nonce: await ctx.nonce() }),
      )
      txHash = tx.hash as Hex
      // The epoch this batch closes unless another settle lands first (then the event says).
      ctx.events.emit('batch:submitted', { epoch: expectedEpoch, txHash })
      mined = await ctx.call(() => tx.wait(ctx.confirmations))
    } catch (error) {
      throw await ctx.refused(error)
    }
    if (mined?.status !== 1)
      throw new TransactionRevertedError({
        shortMessage: `settlePrepaid(${vouchers.length} vouchers) reverted.`,
      })
    let epoch = 0
    let debited = 0n
    let settledVouchers = 0
    // Each voucher yields exactly one VoucherSettled or VoucherSkipped, in voucher order.
    const applied: Candidate[] = []
    let index = 0
    for (const log of mined.logs) {
      const parsed = contract.interface.parseLog(log)
      if (!parsed) continue
      if (parsed.name === 'PrepaidSettled') {
        epoch = Number(parsed.args.epoch)
        debited = parsed.args.debited as bigint
        settledVouchers = Number(parsed.args.settledVouchers)
      } else if (parsed.name === 'VoucherSettled') {
        const c = chosen[index++]
        if (c) applied.push(c)
      } else if (parsed.name === 'VoucherSkipped') {
        const c = chosen[index++]
        const reason = onChainReasons[Number(parsed.args.reason)] ?? 'BadSignature'
        const meter = getAddress(parsed.args.meter as string) as Address
        const user = getAddress(parsed.args.user as string) as Address
        const seq = Number(parsed.args.seq)
        const retried = reason === 'InsufficientBalance' || reason === 'MeterNotAuthorised'
        // NotNewer: another settler settled it; the next round reads the chain and assigns.
        if (!retried && reason !== 'NotNewer' && c) rejected.set(c.key, seq)
        report(skipped, { meter, user, seq, reason, onChain: true, retried })
      }
    }
    const covered = applied.flatMap((c) => c.receipts)
    await markSettled(covered, epoch)
    ctx.events.emit('batch:confirmed', {
      epoch,
      txHash,
      gasUsed: mined.gasUsed,
      approveGasUsed: 0n,
      depositGasUsed: 0n,
      recovered: false,
    })
    return {
      status: 'settled',
      mode: 'prepaid',
      epoch,
      revenue: debited,
      receiptCount: covered.length,
      vouchers: vouchers.length,
      settledVouchers,
      skipped,
      txHash,
      gasUsed: mined.gasUsed,
      approveGasUsed: 0n,
      depositGasUsed: 0n,
      recovered: false,
    }
  }

  /** Assigns receipts to an epoch; a receipt another settler assigned first is left to it. */
  async function markSettled(receipts: StoredReceipt[], epoch: number) {
    if (receipts.length === 0) return
    try {
      await store.markSettled({ assetId, epoch, hashes: receipts.map((r) => r.hash) })
    } catch (error) {
      ctx.events.emit(
        'error',
        new InvalidBatchReceiptsError({
          shortMessage: `${receipts.length} receipt(s) settled by a voucher could not be assigned to epoch ${epoch}.`,
          cause: error,
          details: 'Another settler on this store may have assigned them first.',
        }),
      )
    }
  }

  return { settleOnce }
}
