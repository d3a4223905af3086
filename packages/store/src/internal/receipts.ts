import {
  type AppendReceiptParameters,
  type BatchRecord,
  type BatchStatus,
  type ChainHead,
  decodeReceipt,
  encodeReceipt,
  expectedCumulativeAmount,
  type Hex,
  type SignedUsageReceipt,
  type StoredReceipt,
  usageReceiptSchema,
  zeroHash,
} from '@rma/core'
import type { RowTuple } from './sqliteWriterProtocol.js'
import {
  invalidHashError,
  invalidReceiptError,
  settledElsewhereError,
  unknownReceiptError,
} from './storeErrors.js'

/** A receipt ready to insert: indexed columns, lowercase, plus the compact encoding. */
export type ReceiptRow = {
  id: string
  hash: Hex
  assetId: Hex
  meter: Hex
  user: Hex
  seq: number
  timestamp: number
  /** The receipt's `cumulativeAmount`, as decimal text (exact for any uint256). */
  cumulativeAmount: string
  receipt: string
}

/**
 * A row's values in the column order both SQL adapters insert them (id, hash, asset_id, meter,
 * user, seq, timestamp, cumulative_amount, receipt); a tuple also clones faster than an object
 * on its way to the SQLite writer thread.
 */
export function receiptValues(row: ReceiptRow): RowTuple {
  return [
    row.id,
    row.hash,
    row.assetId,
    row.meter,
    row.user,
    row.seq,
    row.timestamp,
    row.cumulativeAmount,
    row.receipt,
  ]
}

/** The head of a chain with no receipt yet. */
export function emptyHead(): ChainHead {
  return { seq: 0, hash: zeroHash, cumulativeAmount: 0n }
}

/** A head as the SQL adapters read it (numbers may arrive as strings, money as decimal text). */
export function toChainHead(
  row: { seq: number | string; hash: string; cumulative_amount: string | bigint } | undefined,
): ChainHead {
  return row
    ? {
        seq: Number(row.seq),
        hash: row.hash as Hex,
        cumulativeAmount: BigInt(row.cumulative_amount),
      }
    : emptyHead()
}

/** The head a stored row makes. */
export function headOf(row: ReceiptRow): ChainHead {
  return { seq: row.seq, hash: row.hash, cumulativeAmount: BigInt(row.cumulativeAmount) }
}

/** Lowercase, so every lookup by address or hash is case-insensitive. */
export function lower<T extends string>(value: T): T {
  return value.toLowerCase() as T
}

/** A chain as the stores index it: every part lowercase. */
export type LowerChain = { assetId: Hex; meter: Hex; user: Hex }

/** The chain named by an append, ack or lookup, lowercased. */
export function lowerChain(chain: { assetId: string; meter: string; user: string }): LowerChain {
  return {
    assetId: lower(chain.assetId) as Hex,
    meter: lower(chain.meter) as Hex,
    user: lower(chain.user) as Hex,
  }
}

/** The key of a lowercased chain in the stores' in-memory maps (`chainKey` of @rma/core). */
export function chainKeyOf(chain: LowerChain): string {
  return `${chain.assetId}:${chain.meter}:${chain.user}`
}

const hash32 = /^0x[0-9a-f]{64}$/

/**
 * Checks that what `sign` returned is the chain's next receipt (right asset, meter, user, seq,
 * prev, and a cumulative amount of the head's plus its amount) and encodes it. The hash itself is trusted: the store has no EIP-712 domain to
 * recompute it.
 */
export function toReceiptRow(
  id: string,
  head: ChainHead,
  chain: LowerChain,
  signed: Awaited<ReturnType<AppendReceiptParameters['sign']>>,
): ReceiptRow {
  const { receipt } = signed
  const { assetId, meter, user } = chain
  if (
    typeof receipt?.assetId !== 'string' ||
    lower(receipt.assetId) !== assetId ||
    typeof receipt?.meter !== 'string' ||
    lower(receipt.meter) !== meter ||
    typeof receipt.user !== 'string' ||
    lower(receipt.user) !== user ||
    receipt.seq !== head.seq + 1 ||
    typeof receipt.prev !== 'string' ||
    lower(receipt.prev) !== lower(head.hash) ||
    typeof receipt.amount !== 'bigint' ||
    typeof receipt.cumulativeAmount !== 'bigint' ||
    receipt.cumulativeAmount !== expectedCumulativeAmount(head.cumulativeAmount, receipt.amount)
  )
    throw invalidReceiptError(head, chain, receipt ?? {})
  const hash = typeof signed.hash === 'string' ? lower(signed.hash) : undefined
  if (!hash || !hash32.test(hash)) throw invalidHashError(signed.hash)
  return {
    id,
    hash,
    assetId,
    meter,
    user,
    seq: receipt.seq,
    timestamp: receipt.timestamp,
    cumulativeAmount: receipt.cumulativeAmount.toString(),
    receipt: encodeReceipt(receipt),
  }
}

/**
 * What `decodeReceipt(encodeReceipt(receipt))` returns, without the round trip through bytes:
 * the schema's fields in schema order, hex lowercase, nothing else. Only for a receipt that
 * `encodeReceipt` accepted (so every hex field is `0x` and the right number of digits).
 */
export function canonicalReceipt(receipt: SignedUsageReceipt): SignedUsageReceipt {
  const source = receipt as unknown as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const { name, kind } of usageReceiptSchema.fields) {
    const value = source[name]
    out[name] = kind === 'bytes32' || kind === 'address' ? (value as string).toLowerCase() : value
  }
  out.signature = receipt.signature.toLowerCase()
  return out as unknown as SignedUsageReceipt
}

/** What an append resolves with: the row's id and hash, the receipt as a read returns it. */
export function newStoredReceipt(
  row: ReceiptRow,
  signed: { receipt: SignedUsageReceipt },
): StoredReceipt {
  return { id: row.id, hash: row.hash, receipt: canonicalReceipt(signed.receipt), epoch: null }
}

/** The stored form as callers see it: decoded, so addresses and hashes come back lowercase. */
export function toStoredReceipt(row: {
  id: string
  hash: string
  epoch: number | string | bigint | null
  receipt: string
}): StoredReceipt {
  return {
    id: row.id,
    hash: row.hash as Hex,
    receipt: decodeReceipt(row.receipt),
    epoch: row.epoch === null ? null : Number(row.epoch),
  }
}

/** A batch row as both SQL adapters name its columns (numbers may arrive as strings from pg). */
export type BatchRow = {
  asset_id: string
  epoch: number | string
  status: string
  revenue: string
  receipt_count: number | string
  receipts_root: string
  rebate_root: string
  batch_uri: string
  batch_hash: string
  tx_hash: string | null
  created_at: number | string
}

export function toBatchRecord(row: BatchRow): BatchRecord {
  return {
    assetId: row.asset_id as Hex,
    epoch: Number(row.epoch),
    status: row.status as BatchStatus,
    revenue: BigInt(row.revenue),
    receiptCount: Number(row.receipt_count),
    receiptsRoot: row.receipts_root as Hex,
    rebateRoot: row.rebate_root as Hex,
    batchUri: row.batch_uri,
    batchHash: row.batch_hash as Hex,
    txHash: row.tx_hash as Hex | null,
    createdAt: Number(row.created_at),
  }
}

/** The batch's column values, in the column order of {@link BatchRow}; money as decimal text. */
export function batchValues(batch: BatchRecord): (string | number | null)[] {
  return [
    lower(batch.assetId),
    batch.epoch,
    batch.status,
    batch.revenue.toString(),
    batch.receiptCount,
    lower(batch.receiptsRoot),
    lower(batch.rebateRoot),
    batch.batchUri,
    lower(batch.batchHash),
    batch.txHash === null ? null : lower(batch.txHash),
    batch.createdAt,
  ]
}

/**
 * The `markSettled` rule, shared by the adapters: every hash must be a receipt of the asset that
 * is unsettled or already in this epoch. Throws on the first offender, before anything changes.
 */
export function assertSettleable(
  parameters: { assetId: Hex; epoch: number; hashes: readonly Hex[] },
  found: ReadonlyMap<string, { assetId: string; epoch: number | null }>,
): void {
  for (const hash of parameters.hashes) {
    const receipt = found.get(hash)
    if (!receipt || receipt.assetId !== parameters.assetId)
      throw unknownReceiptError(hash, parameters.assetId, parameters.epoch)
    if (receipt.epoch !== null && receipt.epoch !== parameters.epoch)
      throw settledElsewhereError(hash, receipt.epoch, parameters.epoch)
  }
}

/** Lowercase, deduplicated hashes of a `markSettled` call, in input order. */
export function normaliseHashes(hashes: readonly Hex[]): Hex[] {
  return [...new Set(hashes.map(lower))]
}
