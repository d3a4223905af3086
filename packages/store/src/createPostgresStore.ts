import {
  type AppendReceiptParameters,
  decodeAck,
  encodeAck,
  type Hex,
  type ReceiptStore,
  type StoredReceipt,
  zeroHash,
} from '@rma/core'
import pg from 'pg'
import { createKeyedMutex } from './internal/keyedMutex.js'
import { migratePostgres, quoteSchema } from './internal/postgresSchema.js'
import { withTransaction } from './internal/postgresTransaction.js'
import {
  assertSettleable,
  type BatchRow,
  batchValues,
  chainKeyOf,
  lower,
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

/**
 * A {@link ReceiptStore} in PostgreSQL, for several meter processes sharing one database.
 *
 * Seq allocation is safe across processes: `append` locks the chain's row in `chain_heads`
 * (created on first use) inside a transaction that also inserts the receipt and moves the head,
 * and a UNIQUE (meter, user, seq) constraint guards the receipts table. Within a process, appends
 * of one chain queue in memory, so only one of them at a time waits on the row lock.
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
  const chains = createKeyedMutex()
  const inflight = new Set<Promise<unknown>>()
  let closed = false

  const sql = {
    // The upsert takes the row lock (like SELECT ... FOR UPDATE) and returns the head in one
    // round trip; a concurrent holder of the lock makes it wait, then it reads the new head.
    lockHead: `INSERT INTO ${s}.chain_heads (meter, "user", seq, hash) VALUES ($1, $2, 0, $3)
      ON CONFLICT (meter, "user") DO UPDATE SET seq = ${s}.chain_heads.seq RETURNING seq, hash`,
    insertReceipt: `WITH inserted AS (
        INSERT INTO ${s}.receipts (id, hash, asset_id, meter, "user", seq, timestamp, receipt)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
      )
      UPDATE ${s}.chain_heads SET seq = $6, hash = $2 WHERE meter = $4 AND "user" = $5`,
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

  async function append({ id, meter, user, sign }: AppendReceiptParameters) {
    await open()
    const m = lower(meter)
    const u = lower(user)
    return chains.run(chainKeyOf(m, u), () =>
      withTransaction(pool, async (client) => {
        const { rows } = await client.query<{ seq: string; hash: Hex }>(sql.lockHead, [
          m,
          u,
          zeroHash,
        ])
        const head = { seq: Number(rows[0]!.seq), hash: rows[0]!.hash }
        const row = toReceiptRow(id, head, m, u, await sign({ ...head }))
        try {
          await client.query(sql.insertReceipt, [
            row.id,
            row.hash,
            row.assetId,
            row.meter,
            row.user,
            row.seq,
            row.timestamp,
            row.receipt,
          ])
        } catch (error) {
          throw insertError(error, row)
        }
        return toStoredReceipt({ ...row, epoch: null })
      }),
    )
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

/** Maps a unique violation of the receipts table to a {@link StoreError}. */
function insertError(error: unknown, row: ReceiptRow): unknown {
  const { code, constraint } = error as { code?: string; constraint?: string }
  if (code !== '23505') return error
  if (constraint === 'receipts_pkey') return duplicateIdError(row.id)
  if (constraint === 'receipts_hash_key') return hashTakenError(row.hash)
  if (constraint === 'receipts_chain_seq_key') return seqTakenError(row.meter, row.user, row.seq)
  return error
}
