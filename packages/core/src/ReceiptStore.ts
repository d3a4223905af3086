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

/**
 * One receipt chain: the receipts of one asset signed by one meter key for one user. A meter
 * key serving two assets keeps two independent chains (seq 1, 2, … in each).
 */
export type ChainRef = { assetId: Hex; meter: Address; user: Address }

/**
 * The last receipt of a chain: its seq, hash and `cumulativeAmount` (the chain's total charged);
 * `{ seq: 0, hash: zeroHash, cumulativeAmount: 0n }` for an empty chain.
 */
export type ChainHead = { seq: number; hash: Hex; cumulativeAmount: bigint }

export type AppendReceiptParameters = ChainRef & {
  id: string
  /**
   * Builds and signs the chain's next receipt from its head (seq + 1, prev = hash,
   * cumulativeAmount = head's + amount). Runs while the store holds the chain, so no other
   * receipt of the chain can take the same seq. A receipt that does not continue the head
   * (cumulative amount included) is refused with `StoreError` `INVALID_RECEIPT`.
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

/** One use of an attestation nonce, as the durable nonce register records it. */
export type ClaimNonceParameters = {
  assetId: Hex
  user: Address
  nonce: bigint
  /**
   * Unix seconds until which the register must remember the nonce: the last second at which
   * the meter would still accept the attestation (its expiry plus the clock skew allowed).
   * Entries past it may be pruned, which keeps the register bounded.
   */
  keepUntil: number
}

export type ListReceiptsParameters = {
  user: Address
  /** Unix seconds, inclusive. */
  from?: number
  /** Unix seconds, exclusive. */
  to?: number
  limit?: number
}

/** A chain of a user with its head, as `listChains` returns it. */
export type ChainSummary = ChainRef & ChainHead

/**
 * A prepaid call's reservation (see `reserve`). Amounts are base units of the payment token.
 */
export type ReserveParameters = {
  /** Names the reservation; `release(id)` frees it. */
  id: string
  /** The chain the call will append its receipt to. */
  chain: ChainRef
  /** The assets whose chains of this user count as pending: those paying in the same token. */
  assets: readonly Hex[]
  /** What the call may cost at most (its attestation's `maxAmount`). */
  amount: bigint
  /** What the user may owe in total: its on-chain balance minus its withdrawal request. */
  limit: bigint
  /**
   * Per `chainKey`, the chain's settled cumulative amount as read on chain; a chain missing
   * here counts as settled at 0 (the safe side).
   */
  settled: ReadonlyMap<string, bigint>
  /**
   * Refuse when the chain's receipts after its latest ack plus its calls in flight reach this
   * (the unacked tail bound); no bound when undefined.
   */
  maxUnacked?: number
  /** Unix ms after which the reservation no longer counts (a crashed meter's call). */
  expiresAt: number
}

/** What `reserve` found, before the call's own reservation. */
export type ReserveReturnType = {
  reserved: boolean
  /** Why it was refused: the limit (`balance`) or the unacked tail (`unacked`). */
  reason?: 'balance' | 'unacked'
  /** Σ over the user's chains at `assets` of (head cumulative amount − settled), at least 0 each. */
  pending: bigint
  /** Σ of the user's reservations still counting. */
  held: bigint
  /** The chain's receipts after its latest ack, plus its calls in flight. */
  unacked: number
}

/**
 * Durable storage of receipts, acks and batches. `@rma/store` implements it for SQLite
 * (embedded default), PostgreSQL (several meter processes) and memory (unit tests).
 *
 * Every method is safe to call concurrently. `append` resolves only once the receipt is
 * durable, so a receipt that reached a client is never lost.
 */
export interface ReceiptStore {
  /**
   * Allocates the chain's next seq, signs through `sign`, stores durably. Never rejects for a
   * receipt that was committed (a reply lost after commit is resolved by reading it back).
   */
  append(parameters: AppendReceiptParameters): Promise<StoredReceipt>
  get(id: string): Promise<StoredReceipt | undefined>
  getByHash(hash: Hex): Promise<StoredReceipt | undefined>
  head(chain: ChainRef): Promise<ChainHead>
  /** A user's receipts by time, newest last. */
  listByUser(parameters: ListReceiptsParameters): Promise<StoredReceipt[]>
  /** Receipts of an asset not yet assigned to a batch, ordered by (meter, user, seq). */
  listUnsettled(parameters: { assetId: Hex; limit?: number }): Promise<StoredReceipt[]>
  /** Assigns receipts to a batch; throws if one is already assigned to another epoch. */
  markSettled(parameters: { assetId: Hex; epoch: number; hashes: readonly Hex[] }): Promise<void>
  /** Receipts assigned to one batch, ordered by (meter, user, seq). */
  listBatchReceipts(parameters: { assetId: Hex; epoch: number }): Promise<StoredReceipt[]>
  /**
   * Stores an ack (idempotent); a later ack of the same chain supersedes an earlier one. The
   * ack must name a stored receipt (same hash, asset, meter, user and seq), else it throws
   * `StoreError` `ACK_UNKNOWN_RECEIPT` and stores nothing. The caller verifies the signature.
   */
  addAck(ack: SignedReceiptAck): Promise<void>
  /** The highest acked receipt of a chain. */
  latestAck(chain: ChainRef): Promise<SignedReceiptAck | undefined>
  /** A user's chains (every asset and meter key) with their heads. */
  listChains(parameters: { user: Address }): Promise<ChainSummary[]>
  /**
   * Prepaid coverage, atomically for every process sharing the store: reserves `amount` for
   * the user only if what it would then owe, pending (debited but unsettled: each chain's head
   * cumulative amount minus its settled one) plus the reservations of its calls in flight plus
   * `amount`, stays within `limit`, and the chain's unacked tail stays under `maxUnacked`.
   * Expired reservations do not count. Resolves with what was found either way.
   */
  reserve(parameters: ReserveParameters): Promise<ReserveReturnType>
  /**
   * Frees a reservation (idempotent). Call it once the call's receipt is stored (its amount
   * then counts as pending) or once the call ended without one.
   */
  release(id: string): Promise<void>
  /**
   * The durable nonce register: true the first time an (asset, user, nonce) is claimed, false
   * on every later claim while it is remembered. Atomic across every process sharing the store
   * and durable across restarts (resolves only once the claim is committed).
   */
  claimNonce(parameters: ClaimNonceParameters): Promise<boolean>
  /**
   * Resolves when the store can durably write right now; rejects with a `StoreError`
   * (`STORE_UNAVAILABLE`) saying why otherwise (read-only file, file removed, database
   * unreachable, writer thread dead). Meant for a health check before forwarding a paid call.
   */
  checkWritable(): Promise<void>
  /**
   * Records a new batch only if no batch of that (asset, epoch) exists yet (compare-and-set):
   * false when another settler recorded that epoch first, in which case nothing is written.
   */
  createBatch(batch: BatchRecord): Promise<boolean>
  /** Updates a recorded batch (its status and transaction). */
  saveBatch(batch: BatchRecord): Promise<void>
  getBatch(assetId: Hex, epoch: number): Promise<BatchRecord | undefined>
  latestBatch(assetId: Hex): Promise<BatchRecord | undefined>
  close(): Promise<void>
}
