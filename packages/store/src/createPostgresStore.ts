import { createHash } from 'node:crypto'
import {
  type ChainHead,
  type ChainSummary,
  decodeAck,
  encodeAck,
  type Hex,
  type ReceiptStore,
  type StoredReceipt,
  zeroHash,
} from '@rma/core'
import pg from 'pg'
import { StoreError } from './errors.js'
import { evaluateReserve, type Hold } from './internal/coverage.js'
import {
  type CommitResult,
  createGroupCommitEngine,
  type GroupRow,
} from './internal/createGroupCommitEngine.js'
import { migratePostgres, quoteSchema } from './internal/postgresSchema.js'
import { withTransaction } from './internal/postgresTransaction.js'
import {
  assertSettleable,
  type BatchRow,
  batchValues,
  chainKeyOf,
  type LowerChain,
  lower,
  lowerChain,
  normaliseHashes,
  type ReceiptRow,
  receiptValues,
  toBatchRecord,
  toChainHead,
  toStoredReceipt,
} from './internal/receipts.js'
import {
  ackUnknownReceiptError,
  closedError,
  duplicateIdError,
  hashTakenError,
  seqTakenError,
  unavailableError,
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
  /**
   * A statement that has not completed after this long fails with `STORE_UNAVAILABLE` (a lock
   * held elsewhere, a network that swallows replies: appends never hang forever). A store that
   * creates its pool sets PostgreSQL's `statement_timeout` to it, so the server cancels the
   * statement (nothing commits after the store gave up), and waits one more second for a reply
   * before dropping the connection; with a pool you pass, set `statement_timeout` on it too. An
   * append whose reply was lost is read back on another connection: a stored receipt resolves,
   * never "unstored".
   * @default 10000
   */
  queryTimeoutMs?: number
  /**
   * How long `checkWritable` waits for its round trip before it reports the database
   * unreachable (`STORE_UNAVAILABLE`).
   * @default 2000
   */
  healthTimeoutMs?: number
  /**
   * How long an append whose outcome is unknown (connection lost mid-commit) keeps trying to
   * read its receipt back before it rejects with `STORE_UNAVAILABLE` saying so.
   * @default 10000
   */
  readBackTimeoutMs?: number
  /**
   * Expired nonces are deleted (in bounded batches, in the background after a claim) at most
   * this often, so the nonce register stays as large as what is still valid.
   * @default 1000
   */
  nonceSweepIntervalMs?: number
}

/**
 * How long a successful `checkWritable` (or commit) vouches for the database: the check runs
 * before every paid call, so within this window it costs nothing.
 */
export const postgresWritableCacheMs = 250

/** Expired nonces deleted per sweep statement. */
const sweepRows = 10_000

type SelectedReceipt = { id: string; hash: string; epoch: string | null; receipt: string }
/** A chain_heads row (BIGINT and NUMERIC arrive as text). */
type HeadRow = { seq: string; hash: Hex; cumulative_amount: string }

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
 * fails (a duplicate id, say), each of its appends is tried again on the per-receipt path, where
 * only the faulty one fails, unless the database cannot write (the group-commit engine's failure
 * policy, shared with SQLite: see the README). A UNIQUE (meter, user, seq) constraint guards
 * against anything else.
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
  const {
    queryTimeoutMs = 10_000,
    healthTimeoutMs = 2000,
    readBackTimeoutMs = 10_000,
    nonceSweepIntervalMs = 1000,
  } = options
  const schema = options.schema ?? 'rma'
  const s = quoteSchema(schema)
  const ownsPool = !options.pool
  const pool =
    options.pool ??
    new pg.Pool({
      connectionString: options.connectionString,
      // A database that accepts TCP but never answers must not hang a connect forever.
      connectionTimeoutMillis: healthTimeoutMs,
      statement_timeout: queryTimeoutMs,
    })
  // How long a reply is waited for: past the server's own statement_timeout when the store set
  // it, so that the server's cancellation (nothing committed) normally arrives first.
  const replyTimeoutMs = ownsPool ? queryTimeoutMs + 1000 : queryTimeoutMs
  // An idle connection that breaks is dropped by the pool and the next query reconnects; without
  // a listener its 'error' event would crash the process.
  if (ownsPool) pool.on('error', () => {})
  // Missing migrations, applied once; a database unreachable at startup is tried again by the
  // next call instead of failing the store for good.
  let ready: Promise<void> | undefined
  function migrated(): Promise<void> {
    ready ??= migratePostgres(pool, schema).catch((error: unknown) => {
      ready = undefined
      throw error
    })
    return ready
  }
  migrated().catch(() => {}) // surfaced by the first call instead
  const inflight = new Set<Promise<unknown>>()
  let closed = false
  /** Until when the last successful check or commit vouches that the database can write. */
  let writableUntil = 0
  let checking: Promise<void> | undefined
  let lastSweep = 0
  let sweeping = false

  const sql = {
    head: `SELECT seq, hash, cumulative_amount FROM ${s}.chain_heads
      WHERE asset_id = $1 AND meter = $2 AND "user" = $3`,
    // The upsert takes the row lock (like SELECT ... FOR UPDATE) and returns the head in one
    // round trip; a concurrent holder of the lock makes it wait, then it reads the new head.
    lockHead: `INSERT INTO ${s}.chain_heads (asset_id, meter, "user", seq, hash, cumulative_amount)
      VALUES ($1, $2, $3, 0, $4, 0)
      ON CONFLICT (asset_id, meter, "user") DO UPDATE SET seq = ${s}.chain_heads.seq
      RETURNING seq, hash, cumulative_amount`,
    insertReceipt: `WITH inserted AS (
        INSERT INTO ${s}.receipts (id, hash, asset_id, meter, "user", seq, timestamp,
          cumulative_amount, receipt)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
      )
      UPDATE ${s}.chain_heads SET seq = $6, hash = $2, cumulative_amount = $8
      WHERE asset_id = $3 AND meter = $4 AND "user" = $5`,
    // A group in one statement (one round trip, atomic): lock the heads of its chains in one
    // order (so that two groups cannot deadlock), move each head that is still the one the
    // chain's receipts were signed on, insert the receipts of those chains; return every head.
    // $1: the receipts, $2: per chain its base head and new head (JSON), $3: the zero hash.
    appendGroup: `WITH c AS (
        SELECT * FROM json_to_recordset($2::json) AS c(asset_id text, meter text, "user" text,
          "baseSeq" bigint, "baseHash" text, seq bigint, hash text, cumulative_amount numeric)
      ), heads AS (
        INSERT INTO ${s}.chain_heads AS h (asset_id, meter, "user", seq, hash, cumulative_amount)
        SELECT asset_id, meter, "user", CASE WHEN "baseSeq" = 0 THEN seq ELSE 0 END,
          CASE WHEN "baseSeq" = 0 THEN hash ELSE $3 END,
          CASE WHEN "baseSeq" = 0 THEN cumulative_amount ELSE 0 END
        FROM c ORDER BY asset_id, meter, "user"
        ON CONFLICT (asset_id, meter, "user") DO UPDATE SET (seq, hash, cumulative_amount) = (
          SELECT CASE WHEN h.seq = c."baseSeq" AND h.hash = c."baseHash" THEN c.seq ELSE h.seq END,
            CASE WHEN h.seq = c."baseSeq" AND h.hash = c."baseHash" THEN c.hash ELSE h.hash END,
            CASE WHEN h.seq = c."baseSeq" AND h.hash = c."baseHash" THEN c.cumulative_amount
              ELSE h.cumulative_amount END
          FROM c WHERE c.asset_id = excluded.asset_id AND c.meter = excluded.meter
            AND c."user" = excluded."user")
        RETURNING h.asset_id, h.meter, h."user", h.seq, h.hash
      ), inserted AS (
        INSERT INTO ${s}.receipts (id, hash, asset_id, meter, "user", seq, timestamp, receipt,
          cumulative_amount)
        SELECT r.id, r.hash, r.asset_id, r.meter, r."user", r.seq, r.timestamp, r.receipt,
          r.cumulative_amount
        FROM json_to_recordset($1::json) AS r(id text, hash text, asset_id text, meter text,
          "user" text, seq bigint, timestamp bigint, receipt text, cumulative_amount numeric)
        JOIN c USING (asset_id, meter, "user") JOIN heads USING (asset_id, meter, "user")
        WHERE heads.seq = c.seq AND heads.hash = c.hash
      )
      SELECT asset_id, meter, "user", seq, hash FROM heads`,
    receipt: `SELECT id, hash, epoch, receipt FROM ${s}.receipts`,
    byChain: 'ORDER BY meter, "user", seq',
    // NUMERIC arrives as decimal text, which BigInt() parses exactly.
    batch: `SELECT * FROM ${s}.batches`,
  }

  async function open(): Promise<void> {
    if (closed) throw closedError()
    try {
      await migrated()
    } catch (error) {
      throw asUnavailable(error)
    }
  }

  async function select(where: string, values: unknown[]): Promise<StoredReceipt[]> {
    await open()
    const { rows } = await pool.query<SelectedReceipt>(`${sql.receipt} ${where}`, values)
    return rows.map(toStoredReceipt)
  }

  /**
   * Reads receipts back by id on a fresh pooled connection, after a connection failed with a
   * statement in flight: whether each is stored with the same hash. Retries while the database
   * is unreachable, up to `readBackTimeoutMs`.
   */
  async function readBack(rows: readonly ReceiptRow[]): Promise<boolean[]> {
    const deadline = Date.now() + readBackTimeoutMs
    for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
      try {
        const { rows: found } = await pool.query<{ id: string; hash: string }>({
          text: `SELECT id, hash FROM ${s}.receipts WHERE id = ANY($1::text[])`,
          values: [rows.map((row) => row.id)],
          query_timeout: healthTimeoutMs,
        } as pg.QueryConfig)
        const byId = new Map(found.map((row) => [row.id, row.hash]))
        return rows.map((row) => byId.get(row.id) === row.hash)
      } catch (error) {
        if (Date.now() + wait > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, wait))
      }
    }
  }

  /** A cheap round trip that fails on an unreachable database or a read-only standby. */
  async function probe(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(unavailableError(`PostgreSQL did not answer within ${healthTimeoutMs} ms.`)),
        healthTimeoutMs,
      )
    })
    try {
      const round = async () => {
        await open()
        return pool.query<{ recovery: boolean }>({
          text: 'SELECT pg_is_in_recovery() AS recovery',
          query_timeout: healthTimeoutMs,
        } as pg.QueryConfig)
      }
      const { rows } = await Promise.race([round(), timeout])
      if (rows[0]?.recovery)
        throw unavailableError('PostgreSQL is a read-only standby (in recovery).')
      writableUntil = Date.now() + postgresWritableCacheMs
    } catch (error) {
      writableUntil = 0
      if (error instanceof StoreError) throw error
      throw unavailableError(
        `PostgreSQL is unreachable (${String((error as Error)?.message)}).`,
        error,
      )
    } finally {
      clearTimeout(timer)
    }
  }

  /** Deletes expired nonces in the background, a bounded batch at a time, at most once per interval. */
  function sweepNoncesIfDue(): void {
    const now = Date.now()
    if (sweeping || closed || now - lastSweep < nonceSweepIntervalMs) return
    lastSweep = now
    sweeping = true
    const sweep = pool
      .query({
        text: `DELETE FROM ${s}.nonces WHERE ctid IN (
          SELECT ctid FROM ${s}.nonces WHERE keep_until < $1 LIMIT $2)`,
        values: [Math.floor(now / 1000), sweepRows],
        query_timeout: replyTimeoutMs,
      } as pg.QueryConfig)
      .then(
        () => {},
        () => {}, // The next sweep tries again; claims do not depend on it.
      )
      .finally(() => {
        sweeping = false
      })
    inflight.add(sweep)
    void sweep.finally(() => inflight.delete(sweep))
  }

  async function readHead(ref: LowerChain): Promise<ChainHead> {
    const { rows } = await pool
      .query<HeadRow>(prepared(sql.head, [ref.assetId, ref.meter, ref.user], replyTimeoutMs))
      .catch((error: unknown) => {
        throw asUnavailable(error)
      })
    return toChainHead(rows[0])
  }

  /**
   * A group in one statement: locks its chains' heads, moves each that is still the one its
   * receipts were signed on, inserts those receipts; a chain whose head had moved is `moved`.
   */
  async function commitGroup(group: readonly GroupRow[]): Promise<CommitResult> {
    // Per chain: the head its first receipt here was signed on, and its last receipt.
    const heads = new Map<string, { chain: LowerChain; base: ChainHead; last: ReceiptRow }>()
    for (const { chain, base, row } of group) {
      const key = chainKeyOf(chain)
      const known = heads.get(key)
      if (known) known.last = row
      else heads.set(key, { chain, base, last: row })
    }
    let rows: { asset_id: Hex; meter: Hex; user: Hex; seq: string; hash: Hex }[]
    try {
      const chainsJson = [...heads.values()].map(({ chain, base, last }) => ({
        asset_id: chain.assetId,
        meter: chain.meter,
        user: chain.user,
        baseSeq: base.seq,
        baseHash: base.hash,
        seq: last.seq,
        hash: last.hash,
        cumulative_amount: last.cumulativeAmount,
      }))
      ;({ rows } = await pool.query(
        prepared(
          sql.appendGroup,
          [
            JSON.stringify(
              group.map(({ row }) => ({
                ...row,
                asset_id: row.assetId,
                cumulative_amount: row.cumulativeAmount,
              })),
            ),
            JSON.stringify(chainsJson),
            zeroHash,
          ],
          replyTimeoutMs,
        ),
      ))
    } catch (error) {
      // A failure PostgreSQL answered with committed nothing; any other may have committed.
      return { error: asUnavailable(error), maybeCommitted: !isSqlError(error) }
    }
    const moved = new Set<string>()
    const byKey = new Map(
      rows.map((head) => [
        chainKeyOf({ assetId: head.asset_id, meter: head.meter, user: head.user }),
        head,
      ]),
    )
    for (const [key, { last }] of heads) {
      const head = byKey.get(key)
      // Left where it was: another writer appended to the chain since this process read it.
      if (!head || Number(head.seq) !== last.seq || head.hash !== last.hash) moved.add(key)
    }
    return {
      outcomes: group.map(({ chain }) => (moved.has(chainKeyOf(chain)) ? 'moved' : 'stored')),
    }
  }

  /**
   * One receipt in a transaction of its own that locks the chain's head row, signs on it and
   * stores the receipt: the path of chains other processes append to, and of retried appends.
   */
  async function appendLocked(
    ref: LowerChain,
    build: (head: ChainHead) => Promise<ReceiptRow>,
  ): Promise<{ stored: true } | { error: unknown; maybeCommitted: boolean }> {
    let built = false
    try {
      await withTransaction(pool, replyTimeoutMs, async (client) => {
        const { rows } = await client.query<HeadRow>(
          prepared(sql.lockHead, [ref.assetId, ref.meter, ref.user, zeroHash], replyTimeoutMs),
        )
        const row = await build(toChainHead(rows[0]))
        built = true
        try {
          await client.query(prepared(sql.insertReceipt, receiptValues(row), replyTimeoutMs))
        } catch (error) {
          throw insertError(error, row)
        }
      })
      return { stored: true }
    } catch (error) {
      // Past the insert, a connection failure may hide a COMMIT whose reply was lost.
      const answered = error instanceof StoreError || isSqlError(error)
      return { error: asUnavailable(error), maybeCommitted: built && !answered }
    }
  }

  // Groups on distinct chains commit on several pooled connections at once; PostgreSQL flushes
  // their WAL together.
  const engine = createGroupCommitEngine({
    readHead,
    commit: commitGroup,
    readBack,
    appendLocked,
    groupsInFlight: 4,
  })

  return {
    append(parameters) {
      const result = open().then(() => engine.append(parameters))
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

    async head(chain) {
      await open()
      const ref = lowerChain(chain)
      const { rows } = await pool.query<HeadRow>(sql.head, [ref.assetId, ref.meter, ref.user])
      return toChainHead(rows[0])
    },

    listByUser({ user, from = 0, to = Number.MAX_SAFE_INTEGER, limit }) {
      return select(
        `WHERE "user" = $1 AND timestamp >= $2 AND timestamp < $3
         ORDER BY timestamp, asset_id, meter, seq LIMIT $4`,
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
      // Settlement, not a paid call: a batch of 100k receipts may take longer than an append is
      // allowed to, so the store's statement_timeout is lifted for this transaction.
      await withTransaction(pool, undefined, async (client) => {
        await client.query('SET LOCAL statement_timeout = 0')
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
      const ref = lowerChain(ack)
      // One statement: stored only if it names a stored receipt, so an ack of a made-up seq
      // (2^53 - 1, say) can never supersede the chain's genuine acks.
      const { rows } = await pool.query<{ known: boolean }>(
        `WITH receipt AS (
           SELECT 1 FROM ${s}.receipts
           WHERE hash = $5 AND asset_id = $1 AND meter = $2 AND "user" = $3 AND seq = $4
             AND cumulative_amount = $7
         ), stored AS (
           INSERT INTO ${s}.acks (asset_id, meter, "user", seq, ack)
           SELECT $1, $2, $3, $4, $6 WHERE EXISTS (SELECT 1 FROM receipt)
           ON CONFLICT (asset_id, meter, "user") DO UPDATE SET seq = excluded.seq, ack = excluded.ack
           WHERE excluded.seq > ${s}.acks.seq
         )
         SELECT EXISTS (SELECT 1 FROM receipt) AS known`,
        [
          ref.assetId,
          ref.meter,
          ref.user,
          ack.seq,
          lower(ack.receiptHash),
          encodeAck(ack),
          ack.cumulativeAmount.toString(),
        ],
      )
      if (!rows[0]?.known) throw ackUnknownReceiptError(ack)
    },

    async listChains({ user }) {
      await open()
      const { rows } = await pool.query<HeadRow & { asset_id: Hex; meter: Hex }>(
        `SELECT asset_id, meter, seq, hash, cumulative_amount FROM ${s}.chain_heads
         WHERE "user" = $1 AND seq > 0`,
        [lower(user)],
      )
      return rows.map((row) => ({
        assetId: row.asset_id,
        meter: row.meter,
        user: lower(user),
        ...toChainHead(row),
      }))
    },

    async reserve(parameters) {
      await open()
      const chain = lowerChain(parameters.chain)
      const now = Date.now()
      try {
        return await withTransaction(pool, replyTimeoutMs, async (client) => {
          // One reservation of a user at a time across every process on the schema: the rule
          // reads and the insert happen under this transaction-level lock.
          await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
            `@rma/store:${schema}:reserve:${chain.user}`,
          ])
          const { rows } = await client.query<{
            kind: 'head' | 'ack' | 'hold'
            id: string | null
            asset_id: Hex
            meter: Hex
            seq: string | null
            hash: Hex | null
            amount: string | null
            expires_at: string | null
          }>(
            `SELECT 'head' AS kind, NULL AS id, asset_id, meter, seq, hash,
                 cumulative_amount AS amount, NULL::bigint AS expires_at
               FROM ${s}.chain_heads WHERE "user" = $1 AND seq > 0
             UNION ALL
             SELECT 'ack', NULL, asset_id, meter, seq, NULL, NULL, NULL FROM ${s}.acks
               WHERE asset_id = $2 AND meter = $3 AND "user" = $1
             UNION ALL
             SELECT 'hold', id, asset_id, meter, NULL, NULL, amount, expires_at
               FROM ${s}.reservations WHERE "user" = $1 AND expires_at > $4`,
            [chain.user, chain.assetId, chain.meter, now],
          )
          const heads: ChainSummary[] = []
          const holds: Hold[] = []
          let ackedSeq = 0
          for (const row of rows) {
            if (row.kind === 'head')
              heads.push({
                assetId: row.asset_id,
                meter: row.meter,
                user: chain.user,
                seq: Number(row.seq),
                hash: row.hash!,
                cumulativeAmount: BigInt(row.amount!),
              })
            else if (row.kind === 'ack') ackedSeq = Number(row.seq)
            else
              holds.push({
                id: row.id!,
                chain: { assetId: row.asset_id, meter: row.meter, user: chain.user },
                amount: BigInt(row.amount!),
                expiresAt: Number(row.expires_at),
              })
          }
          const result = evaluateReserve(parameters, heads, ackedSeq, holds, now)
          if (result.reserved)
            await client.query(
              `WITH swept AS (
                 DELETE FROM ${s}.reservations WHERE "user" = $4 AND expires_at <= $7
               )
               INSERT INTO ${s}.reservations (id, asset_id, meter, "user", amount, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (id) DO UPDATE SET amount = excluded.amount,
                 expires_at = excluded.expires_at`,
              [
                parameters.id,
                chain.assetId,
                chain.meter,
                chain.user,
                parameters.amount.toString(),
                parameters.expiresAt,
                now,
              ],
            )
          return result
        })
      } catch (error) {
        throw asUnavailable(error)
      }
    },

    async release(id) {
      await open()
      await pool.query(`DELETE FROM ${s}.reservations WHERE id = $1`, [id]).catch((error) => {
        throw asUnavailable(error)
      })
    },

    async latestAck(chain) {
      await open()
      const ref = lowerChain(chain)
      const { rows } = await pool.query<{ ack: string }>(
        `SELECT ack FROM ${s}.acks WHERE asset_id = $1 AND meter = $2 AND "user" = $3`,
        [ref.assetId, ref.meter, ref.user],
      )
      return rows[0] && decodeAck(rows[0].ack)
    },

    async claimNonce({ assetId, user, nonce, keepUntil }) {
      await open()
      // Atomic across every process on the schema: the primary key lets one INSERT win. A
      // claim whose reply is lost rejects (the call is refused; the nonce may be spent).
      const { rowCount } = await pool
        .query(
          prepared(
            `INSERT INTO ${s}.nonces (asset_id, "user", nonce, keep_until) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING`,
            [lower(assetId), lower(user), nonce.toString(), keepUntil],
            replyTimeoutMs,
          ),
        )
        .catch((error: unknown) => {
          throw asUnavailable(error)
        })
      sweepNoncesIfDue()
      return rowCount === 1
    },

    async checkWritable() {
      if (closed) throw closedError()
      if (Date.now() < writableUntil) return
      checking ??= probe().finally(() => {
        checking = undefined
      })
      await checking
    },

    async createBatch(batch) {
      await open()
      const { rowCount } = await pool.query(
        `INSERT INTO ${s}.batches (asset_id, epoch, status, revenue, receipt_count, receipts_root,
           rebate_root, batch_uri, batch_hash, tx_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (asset_id, epoch) DO NOTHING`,
        batchValues(batch),
      )
      return rowCount === 1
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
function prepared(text: string, values: unknown[], timeoutMs?: number): pg.QueryConfig {
  let name = statementNames.get(text)
  if (!name) {
    name = `rma_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`
    statementNames.set(text, name)
  }
  // `query_timeout` (client side, read by pg per query) bounds a reply that never comes.
  return {
    name,
    text,
    values,
    ...(timeoutMs ? { query_timeout: timeoutMs } : {}),
  } as pg.QueryConfig
}

/**
 * A failure to reach PostgreSQL as `STORE_UNAVAILABLE`; errors PostgreSQL answered with (and the
 * store's own) unchanged.
 */
function asUnavailable(error: unknown): unknown {
  if ((error as { code?: unknown } | undefined)?.code === '57014')
    return unavailableError('PostgreSQL canceled the statement (statement_timeout).', error)
  if (error instanceof StoreError || isSqlError(error)) return error
  const message = (error as Error | undefined)?.message ?? String(error)
  return unavailableError(`PostgreSQL is unreachable (${message}).`, error)
}

/**
 * Whether PostgreSQL answered with an error (a SQLSTATE code): the statement then did not
 * commit. Anything else (a reset connection, a timeout) leaves the outcome unknown.
 */
export function isSqlError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code
  return (
    typeof code === 'string' &&
    /^[0-9A-Z]{5}$/.test(code) &&
    !code.startsWith('08') &&
    !code.startsWith('57P')
  )
}

const statementNames = new Map<string, string>()

/** Maps a unique violation of the receipts table to a {@link StoreError}. */
function insertError(error: unknown, row: ReceiptRow): unknown {
  const { code, constraint } = error as { code?: string; constraint?: string }
  if (code !== '23505') return error
  if (constraint === 'receipts_pkey') return duplicateIdError(row.id)
  if (constraint === 'receipts_hash_key') return hashTakenError(row.hash)
  if (constraint === 'receipts_chain_seq_key') return seqTakenError(row, row.seq)
  return error
}
