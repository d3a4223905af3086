import { createHash } from 'node:crypto'
import {
  type AppendReceiptParameters,
  type ChainHead,
  decodeAck,
  encodeAck,
  type Hex,
  type ReceiptStore,
  type StoredReceipt,
  zeroHash,
} from '@rma/core'
import pg from 'pg'
import { createChainCache } from './internal/chainCache.js'
import { createKeyedMutex } from './internal/keyedMutex.js'
import { migratePostgres, quoteSchema } from './internal/postgresSchema.js'
import { withTransaction } from './internal/postgresTransaction.js'
import {
  assertSettleable,
  type BatchRow,
  batchValues,
  chainKeyOf,
  lower,
  newStoredReceipt,
  normaliseHashes,
  type ReceiptRow,
  toBatchRecord,
  toReceiptRow,
  toStoredReceipt,
} from './internal/receipts.js'
import {
  closedError,
  duplicateIdError,
  hashTakenError,
  seqTakenError,
} from './internal/storeErrors.js'
import { createTurns, signsPerTurn } from './internal/turns.js'

/**
 * Options of {@link createPostgresStore}: a connection string (the store owns its pool) or a
 * pool you own, and the schema for the store's tables.
 *
 * @example
 * const options: CreatePostgresStoreOptions = { pool: new pg.Pool({ max: 20 }), schema: 'rma' }
 */
export type CreatePostgresStoreOptions = (
  | {
      /** For example `postgres://user@host:5432/db`; the store creates and ends its own pool. */
      connectionString: string
      pool?: undefined
    }
  | {
      /** A pool you own: the store never ends it, `close()` included. */
      pool: pg.Pool
      connectionString?: undefined
    }
) & {
  /**
   * The schema holding the store's tables, created on first open.
   * @default 'rma'
   */
  schema?: string
}

type SelectedReceipt = { id: string; hash: string; epoch: string | null; receipt: string }

/** A chain as this process last saw it. */
type Chain = {
  key: string
  meter: Hex
  user: Hex
  /** The head as signed so far (possibly not yet committed). */
  head: ChainHead
  /** A group holding receipts of the chain failed: queued ones retry; new appends reload it. */
  broken: boolean
  /** Another writer appended to it: its appends take the per-receipt path from now on. */
  contended: boolean
  /** Appends between signing and commit; a chain is evicted from the cache only when idle. */
  pending: number
}

type Queued = {
  parameters: AppendReceiptParameters
  /** The head the receipt was signed on. */
  base: ChainHead
  row: ReceiptRow
  /** What the append resolves with once the row is stored. */
  stored: StoredReceipt
  chain: Chain
  resolve: (stored: StoredReceipt) => void
  reject: (error: unknown) => void
}

/** Chain heads cached beyond this count are dropped (idle ones, oldest first) and reloaded on use. */

/**
 * A {@link ReceiptStore} in PostgreSQL, for several meter processes sharing one database.
 *
 * Group commit: each process keeps the heads of the chains it writes, so appends sign without a
 * round trip, and the receipts signed in one event-loop turn are written by one statement (one
 * implicit transaction): it locks their chains' rows in `chain_heads` in one order, moves each
 * head that is still the one the receipts were signed on, inserts those receipts and returns
 * every head. A chain whose head had moved (another process shares the meter key) is left out:
 * its appends sign again on the per-receipt path (one transaction each that locks the head's
 * row, signs on it and stores the receipt), as do its later appends in this process. If a group
 * fails (a duplicate id, say), each of its appends retries on the per-receipt path, where only
 * the faulty one fails. A UNIQUE (meter, user, seq) constraint guards against anything else.
 * Missing migrations are applied on first use, under an advisory lock.
 *
 * @example
 * import { createPostgresStore } from '@rma/store'
 *
 * const store = createPostgresStore({ connectionString: process.env.DATABASE_URL!, schema: 'rma' })
 * const stored = await store.append({ id: 'call-1', meter, user, sign: (head) => signNext(head) })
 * await store.close()
 */
export function createPostgresStore(options: CreatePostgresStoreOptions): ReceiptStore {
  const schema = options.schema ?? 'rma'
  const s = quoteSchema(schema)
  const ownsPool = !options.pool
  const pool = options.pool ?? new pg.Pool({ connectionString: options.connectionString })
  // An idle connection that breaks is dropped by the pool and the next query reconnects; without
  // a listener its 'error' event would crash the process.
  if (ownsPool) pool.on('error', () => {})
  const ready = migratePostgres(pool, schema)
  ready.catch(() => {}) // surfaced by the first call instead
  const signing = createKeyedMutex()
  const chains = createChainCache<Chain>()
  const inflight = new Set<Promise<unknown>>()
  let queue: Queued[] = []
  /** A group transaction is running: the next group waits for it. */
  let committing = false
  let closed = false
  // At each turn end, what was signed goes to the database (now if no group is being written,
  // else when the previous group is done).
  const turns = createTurns(signsPerTurn, () => {
    if (!committing) send()
  })

  const sql = {
    head: `SELECT seq, hash FROM ${s}.chain_heads WHERE meter = $1 AND "user" = $2`,
    // The upsert takes the row lock (like SELECT ... FOR UPDATE) and returns the head in one
    // round trip; a concurrent holder of the lock makes it wait, then it reads the new head.
    lockHead: `INSERT INTO ${s}.chain_heads (meter, "user", seq, hash) VALUES ($1, $2, 0, $3)
      ON CONFLICT (meter, "user") DO UPDATE SET seq = ${s}.chain_heads.seq RETURNING seq, hash`,
    insertReceipt: `WITH inserted AS (
        INSERT INTO ${s}.receipts (id, hash, asset_id, meter, "user", seq, timestamp, receipt)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
      )
      UPDATE ${s}.chain_heads SET seq = $6, hash = $2 WHERE meter = $4 AND "user" = $5`,
    // A group in one statement (one round trip, atomic): lock the heads of its chains in one
    // order (so that two groups cannot deadlock), move each head that is still the one the
    // chain's receipts were signed on, insert the receipts of those chains; return every head.
    // $1: the receipts, $2: per chain its base head and new head (JSON), $3: the zero hash.
    appendGroup: `WITH c AS (
        SELECT * FROM json_to_recordset($2::json)
          AS c(meter text, "user" text, "baseSeq" bigint, "baseHash" text, seq bigint, hash text)
      ), heads AS (
        INSERT INTO ${s}.chain_heads AS h (meter, "user", seq, hash)
        SELECT meter, "user", CASE WHEN "baseSeq" = 0 THEN seq ELSE 0 END,
          CASE WHEN "baseSeq" = 0 THEN hash ELSE $3 END
        FROM c ORDER BY meter, "user"
        ON CONFLICT (meter, "user") DO UPDATE SET (seq, hash) = (
          SELECT CASE WHEN h.seq = c."baseSeq" AND h.hash = c."baseHash" THEN c.seq ELSE h.seq END,
            CASE WHEN h.seq = c."baseSeq" AND h.hash = c."baseHash" THEN c.hash ELSE h.hash END
          FROM c WHERE c.meter = excluded.meter AND c."user" = excluded."user")
        RETURNING h.meter, h."user", h.seq, h.hash
      ), inserted AS (
        INSERT INTO ${s}.receipts (id, hash, asset_id, meter, "user", seq, timestamp, receipt)
        SELECT r.id, r.hash, r."assetId", r.meter, r."user", r.seq, r.timestamp, r.receipt
        FROM json_to_recordset($1::json) AS r(id text, hash text, "assetId" text, meter text,
          "user" text, seq bigint, timestamp bigint, receipt text)
        JOIN c USING (meter, "user") JOIN heads USING (meter, "user")
        WHERE heads.seq = c.seq AND heads.hash = c.hash
      )
      SELECT meter, "user", seq, hash FROM heads`,
    receipt: `SELECT id, hash, epoch, receipt FROM ${s}.receipts`,
    byChain: 'ORDER BY meter, "user", seq',
    // NUMERIC arrives as decimal text, which BigInt() parses exactly.
    batch: `SELECT * FROM ${s}.batches`,
  }

  async function open(): Promise<void> {
    if (closed) throw closedError()
    await ready
  }

  async function select(where: string, values: unknown[]): Promise<StoredReceipt[]> {
    await open()
    const { rows } = await pool.query<SelectedReceipt>(`${sql.receipt} ${where}`, values)
    return rows.map(toStoredReceipt)
  }

  async function chainFor(key: string, meter: Hex, user: Hex): Promise<Chain> {
    let chain = chains.get(key)
    // Map order is insertion order: eviction drops the idle chains loaded longest ago.
    if (chain) return chain
    const { rows } = await pool.query<{ seq: string; hash: Hex }>(prepared(sql.head, [meter, user]))
    const row = rows[0]
    chain = {
      key,
      meter,
      user,
      head: row ? { seq: Number(row.seq), hash: row.hash } : { seq: 0, hash: zeroHash },
      broken: false,
      contended: false,
      pending: 0,
    }
    return chains.add(chain)
  }

  function breakChain(chain: Chain): void {
    chains.break(chain)
  }

  /**
   * The per-receipt path: one transaction that locks the chain's head, signs on it and stores
   * the receipt. Runs under the chain's in-process lock, so only one append per chain waits on
   * the row lock.
   */
  function appendAlone(m: Hex, u: Hex, { id, sign }: AppendReceiptParameters) {
    return withTransaction(pool, async (client) => {
      const { rows } = await client.query<{ seq: string; hash: Hex }>(
        prepared(sql.lockHead, [m, u, zeroHash]),
      )
      const head = { seq: Number(rows[0]!.seq), hash: rows[0]!.hash }
      const row = toReceiptRow(id, head, m, u, await sign({ ...head }))
      try {
        await client.query(
          prepared(sql.insertReceipt, [
            row.id,
            row.hash,
            row.assetId,
            row.meter,
            row.user,
            row.seq,
            row.timestamp,
            row.receipt,
          ]),
        )
      } catch (error) {
        throw insertError(error, row)
      }
      return toStoredReceipt({ ...row, epoch: null })
    })
  }

  /** An append whose group could not store it: signs again, on the per-receipt path. */
  function retry(item: Queued): void {
    const { chain, parameters } = item
    signing
      .run(chain.key, () => appendAlone(chain.meter, chain.user, parameters))
      .then(item.resolve, item.reject)
  }

  function enqueue(
    parameters: AppendReceiptParameters,
    base: ChainHead,
    row: ReceiptRow,
    stored: StoredReceipt,
    chain: Chain,
  ) {
    return new Promise<StoredReceipt>((resolve, reject) => {
      queue.push({ parameters, base, row, stored, chain, resolve, reject })
      turns.scheduleEnd()
    })
  }

  /** Sends the queued receipts as one group transaction. */
  function send(): void {
    const group: Queued[] = []
    for (const item of queue) {
      if (item.chain.broken || item.chain.contended) retry(item)
      else group.push(item)
    }
    queue = []
    if (group.length === 0) return
    committing = true
    void commitGroup(group).finally(() => {
      committing = false
      // Receipts signed while this group committed: the next group.
      if (queue.length > 0) send()
    })
  }

  async function commitGroup(group: Queued[]): Promise<void> {
    // Per chain: the head its first receipt here was signed on, and its last receipt.
    const heads = new Map<Chain, { base: ChainHead; last: ReceiptRow }>()
    for (const { chain, base, row } of group) {
      const known = heads.get(chain)
      if (known) known.last = row
      else heads.set(chain, { base, last: row })
    }
    const moved = new Set<Chain>()
    try {
      const chainsJson = [...heads].map(([chain, { base, last }]) => ({
        meter: chain.meter,
        user: chain.user,
        baseSeq: base.seq,
        baseHash: base.hash,
        seq: last.seq,
        hash: last.hash,
      }))
      const { rows } = await pool.query<{ meter: Hex; user: Hex; seq: string; hash: Hex }>(
        prepared(sql.appendGroup, [
          JSON.stringify(group.map((item) => item.row)),
          JSON.stringify(chainsJson),
          zeroHash,
        ]),
      )
      const byKey = new Map(rows.map((head) => [chainKeyOf(head.meter, head.user), head]))
      for (const [chain, { last }] of heads) {
        const head = byKey.get(chain.key)
        // Left where it was: another writer appended to the chain since this process read it.
        if (!head || Number(head.seq) !== last.seq || head.hash !== last.hash) moved.add(chain)
      }
    } catch {
      // Nothing of the group was stored: each append retries alone and meets its own error.
      for (const chain of heads.keys()) breakChain(chain)
      for (const item of group) retry(item)
      return
    }
    for (const chain of moved) chain.contended = true
    for (const item of group)
      if (moved.has(item.chain)) retry(item)
      else item.resolve(item.stored)
  }

  /** Signs the chain's next receipt on its cached head and queues it (or takes the per-receipt path). */
  async function signNext(
    key: string,
    m: Hex,
    u: Hex,
    parameters: AppendReceiptParameters,
  ): Promise<{ committed: Promise<StoredReceipt> }> {
    const slot = turns.signSlot()
    if (slot) await slot
    const chain = await chainFor(key, m, u)
    // Contended: the per-receipt path, holding the chain's lock until it is stored.
    if (chain.contended) return { committed: Promise.resolve(await appendAlone(m, u, parameters)) }
    const head = chain.head
    chain.pending++
    let committed: Promise<StoredReceipt> | undefined
    try {
      const signed = await parameters.sign({ ...head })
      // The chain changed hands meanwhile: sign again on the locked head.
      if (chain.broken || chain.contended)
        return { committed: Promise.resolve(await appendAlone(m, u, parameters)) }
      const row = toReceiptRow(parameters.id, head, m, u, signed)
      chain.head = { seq: row.seq, hash: row.hash }
      committed = enqueue(parameters, head, row, newStoredReceipt(row, signed), chain)
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
    await open()
    const m = lower(parameters.meter)
    const u = lower(parameters.user)
    const key = chainKeyOf(m, u)
    // The lock covers signing only: the next receipt of the chain signs on this one's head
    // while this one waits for its group commit.
    const { committed } = await signing.run(key, () => signNext(key, m, u, parameters))
    return committed
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
      return (await select('WHERE id = $1', [id]))[0]
    },

    async getByHash(hash) {
      return (await select('WHERE hash = $1', [lower(hash)]))[0]
    },

    async head(meter, user) {
      await open()
      const { rows } = await pool.query<{ seq: string; hash: Hex }>(
        `SELECT seq, hash FROM ${s}.chain_heads WHERE meter = $1 AND "user" = $2`,
        [lower(meter), lower(user)],
      )
      const row = rows[0]
      return row ? { seq: Number(row.seq), hash: row.hash } : { seq: 0, hash: zeroHash }
    },

    listByUser({ user, from = 0, to = Number.MAX_SAFE_INTEGER, limit }) {
      return select(
        `WHERE "user" = $1 AND timestamp >= $2 AND timestamp < $3
         ORDER BY timestamp, meter, seq LIMIT $4`,
        [lower(user), from, to, limit ?? null],
      )
    },

    listUnsettled({ assetId, limit }) {
      return select(`WHERE asset_id = $1 AND epoch IS NULL ${sql.byChain} LIMIT $2`, [
        lower(assetId),
        limit ?? null,
      ])
    },

    async markSettled({ assetId, epoch, hashes }) {
      await open()
      const a = lower(assetId)
      const unique = normaliseHashes(hashes)
      await withTransaction(pool, async (client) => {
        // Locking the rows (in one order, against deadlocks) makes a concurrent markSettled of
        // the same receipts wait and then see this epoch.
        const { rows } = await client.query<{
          hash: string
          asset_id: string
          epoch: string | null
        }>(
          `SELECT hash, asset_id, epoch FROM ${s}.receipts WHERE hash = ANY($1::text[])
           ORDER BY hash FOR UPDATE`,
          [unique],
        )
        const found = new Map(
          rows.map((r) => [
            r.hash,
            { assetId: r.asset_id, epoch: r.epoch === null ? null : Number(r.epoch) },
          ]),
        )
        assertSettleable({ assetId: a, epoch, hashes: unique }, found)
        await client.query(
          `UPDATE ${s}.receipts SET epoch = $1 WHERE hash = ANY($2::text[]) AND epoch IS NULL`,
          [epoch, unique],
        )
      })
    },

    listBatchReceipts({ assetId, epoch }) {
      return select(`WHERE asset_id = $1 AND epoch = $2 ${sql.byChain}`, [lower(assetId), epoch])
    },

    async addAck(ack) {
      await open()
      await pool.query(
        `INSERT INTO ${s}.acks (meter, "user", seq, ack) VALUES ($1, $2, $3, $4)
         ON CONFLICT (meter, "user") DO UPDATE SET seq = excluded.seq, ack = excluded.ack
         WHERE excluded.seq > ${s}.acks.seq`,
        [lower(ack.meter), lower(ack.user), ack.seq, encodeAck(ack)],
      )
    },

    async latestAck(meter, user) {
      await open()
      const { rows } = await pool.query<{ ack: string }>(
        `SELECT ack FROM ${s}.acks WHERE meter = $1 AND "user" = $2`,
        [lower(meter), lower(user)],
      )
      return rows[0] && decodeAck(rows[0].ack)
    },

    async saveBatch(batch) {
      await open()
      await pool.query(
        `INSERT INTO ${s}.batches (asset_id, epoch, status, revenue, receipt_count, receipts_root,
           rebate_root, batch_uri, batch_hash, tx_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (asset_id, epoch) DO UPDATE SET status = excluded.status,
           revenue = excluded.revenue, receipt_count = excluded.receipt_count,
           receipts_root = excluded.receipts_root, rebate_root = excluded.rebate_root,
           batch_uri = excluded.batch_uri, batch_hash = excluded.batch_hash,
           tx_hash = excluded.tx_hash, created_at = excluded.created_at`,
        batchValues(batch),
      )
    },

    async getBatch(assetId, epoch) {
      await open()
      const { rows } = await pool.query<BatchRow>(
        `${sql.batch} WHERE asset_id = $1 AND epoch = $2`,
        [lower(assetId), epoch],
      )
      return rows[0] && toBatchRecord(rows[0])
    },

    async latestBatch(assetId) {
      await open()
      const { rows } = await pool.query<BatchRow>(
        `${sql.batch} WHERE asset_id = $1 ORDER BY epoch DESC LIMIT 1`,
        [lower(assetId)],
      )
      return rows[0] && toBatchRecord(rows[0])
    },

    async close() {
      if (closed) return
      closed = true
      await Promise.allSettled([ready, ...inflight])
      if (ownsPool) await pool.end()
    },
  }
}

/**
 * A query as a named prepared statement: each connection parses and plans it once (the group
 * statement's planning is a third of its time). The name is a digest of the text, so stores of
 * different schemas sharing a pool never reuse a name for another statement.
 */
function prepared(text: string, values: unknown[]): pg.QueryConfig {
  let name = statementNames.get(text)
  if (!name) {
    name = `rma_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`
    statementNames.set(text, name)
  }
  return { name, text, values }
}

const statementNames = new Map<string, string>()

/** Maps a unique violation of the receipts table to a {@link StoreError}. */
function insertError(error: unknown, row: ReceiptRow): unknown {
  const { code, constraint } = error as { code?: string; constraint?: string }
  if (code !== '23505') return error
  if (constraint === 'receipts_pkey') return duplicateIdError(row.id)
  if (constraint === 'receipts_hash_key') return hashTakenError(row.hash)
  if (constraint === 'receipts_chain_seq_key') return seqTakenError(row.meter, row.user, row.seq)
  return error
}
