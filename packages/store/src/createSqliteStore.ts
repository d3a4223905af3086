import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import {
  type AppendReceiptParameters,
  type ChainHead,
  decodeAck,
  encodeAck,
  type ReceiptStore,
  type StoredReceipt,
  zeroHash,
} from '@rma/core'
import Database from 'better-sqlite3'
import { createKeyedMutex } from './internal/keyedMutex.js'
import {
  assertSettleable,
  batchValues,
  chainKeyOf,
  lower,
  normaliseHashes,
  type ReceiptRow,
  toBatchRecord,
  toReceiptRow,
  toStoredReceipt,
} from './internal/receipts.js'
import { migrateSqlite } from './internal/sqliteSchema.js'
import { prepareSqliteStatements } from './internal/sqliteStatements.js'
import {
  chainResetError,
  closedError,
  duplicateIdError,
  hashTakenError,
  seqTakenError,
} from './internal/storeErrors.js'

/**
 * What one group commit made durable, for metrics.
 *
 * @example
 * createSqliteStore({ onCommit: ({ receipts, durationMs }) => histogram.observe(durationMs) })
 */
export type GroupCommitInfo = {
  /** Receipts written by the transaction. */
  receipts: number
  /** Time the transaction took, fsync included, in milliseconds. */
  durationMs: number
}

/**
 * Options of {@link createSqliteStore}.
 *
 * @example
 * const options: CreateSqliteStoreOptions = { path: '/var/lib/rma/receipts.db' }
 */
export type CreateSqliteStoreOptions = {
  /**
   * The database file; its directory is created. `':memory:'` gives a throwaway database.
   * @default './.rma/receipts.db'
   */
  path?: string
  /** Called after each group commit (synchronously, so keep it cheap and never throw). */
  onCommit?: (info: GroupCommitInfo) => void
}

/** Chain state held in memory: the head as signed so far (possibly not yet committed). */
type Chain = {
  key: string
  head: ChainHead
  /** Set when a receipt of the chain failed to store: receipts signed on top of it are dropped. */
  broken: boolean
  /** Appends between signing and commit; a chain is evicted from the cache only when idle. */
  pending: number
}

type Queued = {
  row: ReceiptRow
  chain: Chain
  resolve: (stored: StoredReceipt) => void
  reject: (error: unknown) => void
}

/** Chain heads cached beyond this count are dropped (idle ones first) and reloaded on use. */
const maxCachedChains = 100_000

/**
 * The embedded default {@link ReceiptStore}: one SQLite file in WAL mode with
 * `synchronous = FULL`, so `append` resolves only after its receipt is fsynced.
 *
 * Group commit: appends that finish signing in the same event-loop turn are written in one
 * transaction (one fsync). Appends of one (meter, user) chain sign one after the other, each on
 * the head the previous one produced, without waiting for its commit; if a receipt then fails to
 * store, the receipts signed on top of it are rejected (`CHAIN_RESET`) and the chain resumes
 * from its last stored receipt. One process should write a file: a second writer is caught by
 * the UNIQUE (meter, user, seq) constraint (`RECEIPT_CONFLICT`), not coordinated.
 *
 * @example
 * import { createSqliteStore } from '@rma/store'
 *
 * const store = createSqliteStore({ path: './.rma/receipts.db' })
 * const stored = await store.append({ id: 'call-1', meter, user, sign: (head) => signNext(head) })
 * await store.close()
 */
export function createSqliteStore(options: CreateSqliteStoreOptions = {}): ReceiptStore {
  const { path = './.rma/receipts.db', onCommit } = options
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  migrateSqlite(db)
  const sql = prepareSqliteStatements(db)

  const chains = new Map<string, Chain>()
  const signing = createKeyedMutex()
  const reservedIds = new Set<string>()
  const inflight = new Set<Promise<unknown>>()
  let queue: Queued[] = []
  let flushScheduled = false
  let closed = false

  function assertOpen(): void {
    if (closed) throw closedError()
  }

  function chainFor(key: string, meter: string, user: string): Chain {
    let chain = chains.get(key)
    if (chain) {
      // Re-insert: Map order is then least recently used first.
      chains.delete(key)
      chains.set(key, chain)
      return chain
    }
    const row = sql.head.get(meter, user)
    chain = {
      key,
      head: row ? { seq: row.seq, hash: row.hash as `0x${string}` } : { seq: 0, hash: zeroHash },
      broken: false,
      pending: 0,
    }
    chains.set(key, chain)
    if (chains.size > maxCachedChains)
      for (const [k, c] of chains) {
        if (chains.size <= maxCachedChains) break
        if (c.pending === 0 && k !== key) chains.delete(k)
      }
    return chain
  }

  function breakChain(chain: Chain): void {
    chain.broken = true
    if (chains.get(chain.key) === chain) chains.delete(chain.key)
  }

  function enqueue(row: ReceiptRow, chain: Chain): Promise<StoredReceipt> {
    return new Promise((resolve, reject) => {
      queue.push({ row, chain, resolve, reject })
      if (!flushScheduled) {
        flushScheduled = true
        setImmediate(flush)
      }
    })
  }

  /** Writes every queued receipt in one transaction; settles each append afterwards. */
  function flush(): void {
    flushScheduled = false
    const batch = queue
    queue = []
    if (batch.length === 0) return
    const failed = new Map<Queued, unknown>()
    const broken = new Set<Chain>()
    const started = performance.now()
    try {
      sql.begin.run()
      for (const item of batch) {
        if (item.chain.broken || broken.has(item.chain)) {
          failed.set(item, chainResetError(item.row.id))
          continue
        }
        try {
          sql.insertReceipt.run(item.row)
        } catch (error) {
          // A constraint error undoes only its statement; anything else may have ended the
          // transaction, and then the whole batch fails below.
          if (!db.inTransaction) throw error
          failed.set(item, insertError(error, item.row))
          broken.add(item.chain)
        }
      }
      sql.commit.run()
    } catch (error) {
      try {
        if (db.inTransaction) sql.rollback.run()
      } catch {
        // The batch is failing with `error` anyway; SQLite rolls back when the next BEGIN runs.
      }
      for (const item of batch) {
        if (!failed.has(item)) failed.set(item, error)
        broken.add(item.chain)
      }
    }
    for (const chain of broken) breakChain(chain)
    for (const item of batch) {
      const error = failed.get(item)
      if (error === undefined) item.resolve(toStoredReceipt({ ...item.row, epoch: null }))
      else item.reject(error)
    }
    if (onCommit && failed.size < batch.length)
      onCommit({ receipts: batch.length - failed.size, durationMs: performance.now() - started })
  }

  /** Signs the chain's next receipt and queues it; returns (boxed) the commit's promise. */
  async function signNext(
    key: string,
    meter: `0x${string}`,
    user: `0x${string}`,
    { id, sign }: AppendReceiptParameters,
  ): Promise<{ committed: Promise<StoredReceipt> }> {
    const chain = chainFor(key, meter, user)
    const head = chain.head
    chain.pending++
    let committed: Promise<StoredReceipt> | undefined
    try {
      const signed = await sign({ ...head })
      if (chain.broken) throw chainResetError(id)
      const row = toReceiptRow(id, head, meter, user, signed)
      chain.head = { seq: row.seq, hash: row.hash }
      committed = enqueue(row, chain)
      return { committed }
    } finally {
      const done = () => {
        chain.pending--
      }
      if (committed) committed.then(done, done)
      else done()
    }
  }

  async function append(parameters: AppendReceiptParameters): Promise<StoredReceipt> {
    assertOpen()
    const { id } = parameters
    if (reservedIds.has(id) || sql.idExists.get(id)) throw duplicateIdError(id)
    reservedIds.add(id)
    try {
      const meter = lower(parameters.meter)
      const user = lower(parameters.user)
      const key = chainKeyOf(meter, user)
      // The lock covers signing only: the next receipt of the chain signs on this one's head
      // while this one waits for its group commit.
      const { committed } = await signing.run(key, () => signNext(key, meter, user, parameters))
      return await committed
    } finally {
      reservedIds.delete(id)
    }
  }

  return {
    append(parameters) {
      const result = append(parameters)
      inflight.add(result)
      const forget = () => inflight.delete(result)
      result.then(forget, forget)
      return result
    },

    async get(id) {
      assertOpen()
      const row = sql.get.get(id)
      return row && toStoredReceipt(row)
    },

    async getByHash(hash) {
      assertOpen()
      const row = sql.getByHash.get(lower(hash))
      return row && toStoredReceipt(row)
    },

    async head(meter, user) {
      assertOpen()
      const row = sql.head.get(lower(meter), lower(user))
      return row ? { seq: row.seq, hash: row.hash as `0x${string}` } : { seq: 0, hash: zeroHash }
    },

    async listByUser({ user, from = 0, to = Number.MAX_SAFE_INTEGER, limit = -1 }) {
      assertOpen()
      return sql.listByUser.all(lower(user), from, to, limit).map(toStoredReceipt)
    },

    async listUnsettled({ assetId, limit = -1 }) {
      assertOpen()
      return sql.listUnsettled.all(lower(assetId), limit).map(toStoredReceipt)
    },

    async markSettled({ assetId, epoch, hashes }) {
      assertOpen()
      const a = lower(assetId)
      const unique = normaliseHashes(hashes)
      db.transaction(() => {
        const found = new Map<string, { assetId: string; epoch: number | null }>()
        for (const hash of unique) {
          const row = sql.settlement.get(hash)
          if (row) found.set(hash, { assetId: row.asset_id, epoch: row.epoch })
        }
        assertSettleable({ assetId: a, epoch, hashes: unique }, found)
        for (const hash of unique) sql.settle.run(epoch, hash)
      }).immediate()
    },

    async listBatchReceipts({ assetId, epoch }) {
      assertOpen()
      return sql.listBatch.all(lower(assetId), epoch).map(toStoredReceipt)
    },

    async addAck(ack) {
      assertOpen()
      sql.addAck.run(lower(ack.meter), lower(ack.user), ack.seq, encodeAck(ack))
    },

    async latestAck(meter, user) {
      assertOpen()
      const row = sql.latestAck.get(lower(meter), lower(user))
      return row && decodeAck(row.ack)
    },

    async saveBatch(batch) {
      assertOpen()
      sql.saveBatch.run(...batchValues(batch))
    },

    async getBatch(assetId, epoch) {
      assertOpen()
      const row = sql.getBatch.get(lower(assetId), epoch)
      return row && toBatchRecord(row)
    },

    async latestBatch(assetId) {
      assertOpen()
      const row = sql.latestBatch.get(lower(assetId))
      return row && toBatchRecord(row)
    },

    async close() {
      if (closed) return
      closed = true
      // Appends already accepted finish (their group commit runs) before the file closes.
      await Promise.allSettled(inflight)
      flush()
      db.close()
    },
  }
}

/** Maps a constraint violation of the receipts table to a {@link StoreError}. */
function insertError(error: unknown, row: ReceiptRow): unknown {
  if (!(error instanceof Database.SqliteError)) return error
  if (error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return duplicateIdError(row.id)
  if (error.code !== 'SQLITE_CONSTRAINT_UNIQUE') return error
  if (error.message.includes('receipts.hash')) return hashTakenError(row.hash)
  if (error.message.includes('receipts.seq')) return seqTakenError(row.meter, row.user, row.seq)
  return error
}
