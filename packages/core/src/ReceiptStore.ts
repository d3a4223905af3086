import type { Address, Hex, SignedReceiptAck, SignedUsageReceipt } from './types.js'

/** A receipt as stored: its call id (known when the call starts), its hash, and its batch. */
export type StoredReceipt = {
  /** The call's id, sent as `rma-receipt-id` before the receipt exists (streams). */
  id: string
  /** The receipt's EIP-712 hash: the next receipt's `prev` and its receipts-tree leaf. */
  hash: Hex
  receipt: SignedUsageReceipt
  /** Epoch of the batch the receipt was assigned to, or null while unsettled. */
  epoch: number | null
}

/** The last receipt of a (meter, user) chain; `{ seq: 0, hash: zeroHash }` for an empty chain. */
export type ChainHead = { seq: number; hash: Hex }

export type AppendReceiptParameters = {
  id: string
  meter: Address
  user: Address
  /**
   * Builds and signs the chain's next receipt from its head. Runs while the store holds the
   * chain, so no other receipt of the chain can take the same seq.
   */
  sign(head: ChainHead): Promise<{ receipt: SignedUsageReceipt; hash: Hex }>
}

/** Lifecycle of a settlement batch, recorded before each step so a restart can resume. */
export type BatchStatus = 'built' | 'submitted' | 'confirmed'

export type BatchRecord = {
  assetId: Hex
  epoch: number
  status: BatchStatus
  revenue: bigint
  receiptCount: number
  receiptsRoot: Hex
  rebateRoot: Hex
  batchUri: string
  batchHash: Hex
  txHash: Hex | null
  createdAt: number
}

export type ListReceiptsParameters = {
  user: Address
  /** Unix seconds, inclusive. */
  from?: number
  /** Unix seconds, exclusive. */
  to?: number
  limit?: number
}

/**
 * Durable storage of receipts, acks and batches. `@rma/store` implements it for SQLite
 * (embedded default), PostgreSQL (several meter processes) and memory (unit tests).
 *
 * Every method is safe to call concurrently. `append` resolves only once the receipt is
 * durable, so a receipt that reached a client is never lost.
 */
export interface ReceiptStore {
  /** Allocates the chain's next seq, signs through `sign`, stores durably. */
  append(parameters: AppendReceiptParameters): Promise<StoredReceipt>
  get(id: string): Promise<StoredReceipt | undefined>
  getByHash(hash: Hex): Promise<StoredReceipt | undefined>
  head(meter: Address, user: Address): Promise<ChainHead>
  /** A user's receipts by time, newest last. */
  listByUser(parameters: ListReceiptsParameters): Promise<StoredReceipt[]>
  /** Receipts of an asset not yet assigned to a batch, ordered by (meter, user, seq). */
  listUnsettled(parameters: { assetId: Hex; limit?: number }): Promise<StoredReceipt[]>
  /** Assigns receipts to a batch; throws if one is already assigned to another epoch. */
  markSettled(parameters: { assetId: Hex; epoch: number; hashes: readonly Hex[] }): Promise<void>
  /** Receipts assigned to one batch, ordered by (meter, user, seq). */
  listBatchReceipts(parameters: { assetId: Hex; epoch: number }): Promise<StoredReceipt[]>
  /** Stores an ack (idempotent); a later ack of the same chain supersedes an earlier one. */
  addAck(ack: SignedReceiptAck): Promise<void>
  /** The highest acked receipt of a (meter, user) chain. */
  latestAck(meter: Address, user: Address): Promise<SignedReceiptAck | undefined>
  saveBatch(batch: BatchRecord): Promise<void>
  getBatch(assetId: Hex, epoch: number): Promise<BatchRecord | undefined>
  latestBatch(assetId: Hex): Promise<BatchRecord | undefined>
  close(): Promise<void>
}
