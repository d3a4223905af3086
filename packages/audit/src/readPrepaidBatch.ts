import { rmaSettlementAbi } from '@rma/contracts'
import type { Address, Hex } from '@rma/core'
import { Interface, type Result } from 'ethers'
import type { AssetEvent, SettlementReader } from './openSettlement.js'

/** One voucher as the settler submitted it (`settlePrepaid` calldata), lowercase. */
export type SubmittedVoucher = {
  meter: Address
  user: Address
  seq: number
  receiptHash: Hex
  cumulativeAmount: bigint
  r: Hex
  vs: Hex
}

/** What the contract did with one voucher: its `VoucherSettled` debit, or its `VoucherSkipped` reason. */
export type VoucherOutcome =
  | { settled: true; user: Address; debit: bigint }
  | { settled: false; meter: Address; user: Address; seq: number; reason: number }

/**
 * One prepaid settlement read back from its transaction: the contract's events of this batch,
 * in order (one per voucher: `VoucherSettled` or `VoucherSkipped`), and the vouchers the
 * settler submitted, decoded from the calldata, paired one to one with those events (null when
 * the transaction did not call `settlePrepaid` directly, e.g. through a multicall contract).
 */
export type PrepaidBatch = {
  event: AssetEvent
  outcomes: VoucherOutcome[]
  vouchers: SubmittedVoucher[] | null
}

const abi = new Interface(rmaSettlementAbi)
const selector = abi.getFunction('settlePrepaid')!.selector

export async function readPrepaidBatch(
  reader: SettlementReader,
  event: AssetEvent,
): Promise<PrepaidBatch> {
  const tx = await reader.transaction(event.transactionHash)
  // The batch's events lie between the previous PrepaidSettled of the transaction and its own.
  let start = 0
  const end = tx.logs.findIndex((l) => l.logIndex === event.logIndex)
  for (let i = 0; i < end; i++) if (tx.logs[i]!.name === 'PrepaidSettled') start = i + 1
  const outcomes: VoucherOutcome[] = []
  for (const log of tx.logs.slice(start, Math.max(end, 0))) {
    if (log.name === 'VoucherSettled')
      outcomes.push({ settled: true, user: lower(log.args.user), debit: log.args.debit as bigint })
    else if (log.name === 'VoucherSkipped' && lower(log.args.assetId) === reader.assetId)
      outcomes.push({
        settled: false,
        meter: lower(log.args.meter),
        user: lower(log.args.user),
        seq: Number(log.args.seq),
        reason: Number(log.args.reason),
      })
  }
  let vouchers: SubmittedVoucher[] | null = null
  if (tx.to === reader.contract && tx.input.startsWith(selector)) {
    try {
      const [assetId, list] = abi.decodeFunctionData('settlePrepaid', tx.input)
      if (lower(assetId) === reader.assetId && (list as Result[]).length === outcomes.length)
        vouchers = (list as Result[]).map((v) => ({
          meter: lower(v.meter),
          user: lower(v.user),
          seq: Number(v.seq),
          receiptHash: lower(v.receiptHash),
          cumulativeAmount: v.cumulativeAmount as bigint,
          r: lower(v.r),
          vs: lower(v.vs),
        }))
    } catch {
      vouchers = null
    }
  }
  return { event, outcomes, vouchers }
}

function lower<T extends string>(value: unknown): T {
  return String(value).toLowerCase() as T
}
