import {
  type BatchRecord,
  type ChainHead,
  type ChainSummary,
  decodeAck,
  encodeAck,
  type Hex,
  type ReceiptStore,
  type StoredReceipt,
} from '@rma/core'
import { createHoldBook, evaluateReserve } from './internal/coverage.js'
import { createKeyedMutex } from './internal/keyedMutex.js'
import {
  assertSettleable,
  chainKeyOf,
  emptyHead,
  headOf,
  type LowerChain,
  lower,
  lowerChain,
  normaliseHashes,
  type ReceiptRow,
  toReceiptRow,
  toStoredReceipt,
} from './internal/receipts.js'
import {
  ackUnknownReceiptError,
  closedError,
  duplicateIdError,
  hashTakenError,
} from './internal/storeErrors.js'

type MemoryRow = ReceiptRow & { epoch: number | null }

/**
 * Options of {@link createMemoryStore}.
 *
 * @example
 * const store = createMemoryStore({ nonceSweepIntervalMs: 0 })
 */
export type CreateMemoryStoreOptions = {
  /**
   * Nonces whose `keepUntil` has passed are dropped by a claim made at least this long after
   * the previous sweep, so the register stays bounded by what is still valid.
   * @default 1000
   */
  nonceSweepIntervalMs?: number
}

/**
 * A {@link ReceiptStore} that keeps everything in process memory. **For unit tests only**:
 * nothing survives a restart, so a receipt a client received could be lost. It follows the same
 * contract as the SQLite and PostgreSQL stores (same errors, orderings and lowercase output).
 *
 * @example
 * import { createMemoryStore } from '@rma/store'
 *
 * const store = createMemoryStore()
 * const stored = await store.append({ id: 'call-1', assetId, meter, user, sign: (head) => signNext(head) })
 */
export function createMemoryStore(options: CreateMemoryStoreOptions = {}): ReceiptStore {
  const { nonceSweepIntervalMs = 1000 } = options
  const byId = new Map<string, MemoryRow>()
  const byHash = new Map<string, MemoryRow>()
  const heads = new Map<string, ChainHead>()
  const acks = new Map<string, { seq: number; ack: string }>()
  const batches = new Map<string, BatchRecord>()
  const holds = createHoldBook()
  const chains = createKeyedMutex()
  const reservedIds = new Set<string>()
  /** Claimed nonces by `asset:user:nonce`, with their keepUntil (unix seconds). */
  const nonces = new Map<string, number>()
  let lastSweep = 0
  let closed = false

  function assertOpen(): void {
    if (closed) throw closedError()
  }

  function stored(row: MemoryRow): StoredReceipt {
    return toStoredReceipt(row)
  }

  function sorted(rows: Iterable<MemoryRow>, compare: (a: MemoryRow, b: MemoryRow) => number) {
    return [...rows].sort(compare)
  }

  return {
    async append(parameters) {
      const { id, sign } = parameters
      assertOpen()
      if (reservedIds.has(id) || byId.has(id)) throw duplicateIdError(id)
      reservedIds.add(id)
      try {
        const chain = lowerChain(parameters)
        const key = chainKeyOf(chain)
        return await chains.run(key, async () => {
          const head = heads.get(key) ?? emptyHead()
          const row: MemoryRow = {
            ...toReceiptRow(id, head, chain, await sign({ ...head })),
            epoch: null,
          }
          if (byHash.has(row.hash)) throw hashTakenError(row.hash)
          byId.set(id, row)
          byHash.set(row.hash, row)
          heads.set(key, headOf(row))
          return stored(row)
        })
      } finally {
        reservedIds.delete(id)
      }
    },

    async get(id) {
      assertOpen()
      const row = byId.get(id)
      return row && stored(row)
    },

    async getByHash(hash) {
      assertOpen()
      const row = byHash.get(lower(hash))
      return row && stored(row)
    },

    async head(chain) {
      assertOpen()
      return { ...(heads.get(chainKeyOf(lowerChain(chain))) ?? emptyHead()) }
    },

    async listByUser({ user, from = 0, to = Number.MAX_SAFE_INTEGER, limit }) {
      assertOpen()
      const u = lower(user)
      const rows = sorted(
        [...byId.values()].filter((r) => r.user === u && r.timestamp >= from && r.timestamp < to),
        (a, b) =>
          a.timestamp - b.timestamp ||
          (a.assetId === b.assetId ? 0 : a.assetId < b.assetId ? -1 : 1) ||
          compareChain(a, b),
      )
      return rows.slice(0, limit ?? rows.length).map(stored)
    },

    async listUnsettled({ assetId, limit }) {
      assertOpen()
      const a = lower(assetId)
      const rows = sorted(
        [...byId.values()].filter((r) => r.assetId === a && r.epoch === null),
        compareChain,
      )
      return rows.slice(0, limit ?? rows.length).map(stored)
    },

    async markSettled({ assetId, epoch, hashes }) {
      assertOpen()
      const a = lower(assetId)
      const unique = normaliseHashes(hashes)
      const found = new Map<string, { assetId: string; epoch: number | null }>()
      for (const hash of unique) {
        const row = byHash.get(hash)
        if (row) found.set(hash, row)
      }
      assertSettleable({ assetId: a, epoch, hashes: unique }, found)
      for (const hash of unique) byHash.get(hash)!.epoch = epoch
    },

    async listBatchReceipts({ assetId, epoch }) {
      assertOpen()
      const a = lower(assetId)
      return sorted(
        [...byId.values()].filter((r) => r.assetId === a && r.epoch === epoch),
        compareChain,
      ).map(stored)
    },

    async addAck(ack) {
      assertOpen()
      const chain = lowerChain(ack)
      const row = byHash.get(lower(ack.receiptHash))
      if (!row || !namesRow(ack, chain, row)) throw ackUnknownReceiptError(ack)
      const key = chainKeyOf(chain)
      const encoded = encodeAck(ack)
      const current = acks.get(key)
      if (!current || current.seq < ack.seq) acks.set(key, { seq: ack.seq, ack: encoded })
    },

    async listChains({ user }) {
      assertOpen()
      return summariesOf(heads, lower(user))
    },

    async reserve(parameters) {
      assertOpen()
      const chain = lowerChain(parameters.chain)
      const now = Date.now()
      const result = evaluateReserve(
        parameters,
        summariesOf(heads, chain.user),
        acks.get(chainKeyOf(chain))?.seq ?? 0,
        holds.holdsOf(chain.user, now),
        now,
      )
      if (result.reserved) holds.add(parameters)
      return result
    },

    async release(id) {
      assertOpen()
      holds.release(id)
    },

    async latestAck(chain) {
      assertOpen()
      const current = acks.get(chainKeyOf(lowerChain(chain)))
      return current && decodeAck(current.ack)
    },

    async claimNonce({ assetId, user, nonce, keepUntil }) {
      assertOpen()
      const now = Date.now()
      if (now - lastSweep >= nonceSweepIntervalMs) {
        lastSweep = now
        const second = Math.floor(now / 1000)
        for (const [key, until] of nonces) if (until < second) nonces.delete(key)
      }
      const key = `${lower(assetId)}:${lower(user)}:${nonce}`
      if (nonces.has(key)) return false
      nonces.set(key, keepUntil)
      return true
    },

    async checkWritable() {
      assertOpen()
    },

    async createBatch(batch) {
      assertOpen()
      const copy = normaliseBatch(batch)
      const key = batchKey(copy.assetId, copy.epoch)
      if (batches.has(key)) return false
      batches.set(key, copy)
      return true
    },

    async saveBatch(batch) {
      assertOpen()
      const copy = normaliseBatch(batch)
      batches.set(batchKey(copy.assetId, copy.epoch), copy)
    },

    async getBatch(assetId, epoch) {
      assertOpen()
      const batch = batches.get(batchKey(lower(assetId), epoch))
      return batch && { ...batch }
    },

    async latestBatch(assetId) {
      assertOpen()
      const a = lower(assetId)
      let latest: BatchRecord | undefined
      for (const batch of batches.values())
        if (batch.assetId === a && (!latest || batch.epoch > latest.epoch)) latest = batch
      return latest && { ...latest }
    },

    async close() {
      closed = true
    },
  }
}

/** Whether an ack names this stored receipt: its hash, asset, meter, user and seq. */
/** The heads of a user's chains (keys are `asset:meter:user`, lowercase). */
function summariesOf(heads: ReadonlyMap<string, ChainHead>, user: string): ChainSummary[] {
  const out: ChainSummary[] = []
  for (const [key, head] of heads) {
    const [assetId, meter, owner] = key.split(':') as [Hex, Hex, Hex]
    if (owner === user) out.push({ assetId, meter, user: owner, ...head })
  }
  return out
}

function namesRow(
  ack: { seq: number; cumulativeAmount: bigint },
  chain: LowerChain,
  row: ReceiptRow,
): boolean {
  return (
    row.assetId === chain.assetId &&
    row.meter === chain.meter &&
    row.user === chain.user &&
    row.seq === ack.seq &&
    row.cumulativeAmount === ack.cumulativeAmount.toString()
  )
}

/** Chain order within one asset, as SQL `ORDER BY meter, "user", seq` over lowercase hex text. */
function compareChain(a: ReceiptRow, b: ReceiptRow): number {
  if (a.meter !== b.meter) return a.meter < b.meter ? -1 : 1
  if (a.user !== b.user) return a.user < b.user ? -1 : 1
  return a.seq - b.seq
}

function batchKey(assetId: Hex, epoch: number): string {
  return `${assetId}:${epoch}`
}

/** Same lowercase normalisation the SQL stores apply on write. */
function normaliseBatch(batch: BatchRecord): BatchRecord {
  return {
    ...batch,
    assetId: lower(batch.assetId),
    receiptsRoot: lower(batch.receiptsRoot),
    rebateRoot: lower(batch.rebateRoot),
    batchHash: lower(batch.batchHash),
    txHash: batch.txHash === null ? null : lower(batch.txHash),
  }
}
