import type { Pool, PoolClient } from 'pg'
import { InvalidStoreOptionsError } from '../errors.js'
import { upgradeLegacyAck, upgradeLegacyReceipt } from './legacyLayout.js'
import { withTransaction } from './postgresTransaction.js'
import { schemaTooNewError } from './storeErrors.js'

/** `backfill` runs after `up`, in the same transaction, for what SQL alone cannot compute. */
export type PostgresMigration = {
  version: number
  name: string
  up: (schema: string) => string
  backfill?: (client: PoolClient, schema: string) => Promise<void>
}

/**
 * The PostgreSQL schema, one entry per version; `schema` is the quoted schema name. Never edit
 * an applied migration: append a new one. Money is NUMERIC(78, 0) (exact for any uint256).
 */
export const postgresMigrations: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'receipts, chain heads, acks, batches',
    up: (s) => `
      CREATE TABLE ${s}.receipts (
        id TEXT NOT NULL,
        hash TEXT NOT NULL,
        asset_id TEXT NOT NULL,
        meter TEXT NOT NULL,
        "user" TEXT NOT NULL,
        seq BIGINT NOT NULL,
        timestamp BIGINT NOT NULL,
        epoch BIGINT,
        receipt TEXT NOT NULL,
        CONSTRAINT receipts_pkey PRIMARY KEY (id),
        CONSTRAINT receipts_hash_key UNIQUE (hash),
        CONSTRAINT receipts_chain_seq_key UNIQUE (meter, "user", seq)
      );
      CREATE INDEX receipts_user_time ON ${s}.receipts ("user", timestamp);
      CREATE INDEX receipts_asset_epoch ON ${s}.receipts (asset_id, epoch, meter, "user", seq);
      CREATE TABLE ${s}.chain_heads (
        meter TEXT NOT NULL,
        "user" TEXT NOT NULL,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (meter, "user")
      );
      CREATE TABLE ${s}.acks (
        meter TEXT NOT NULL,
        "user" TEXT NOT NULL,
        seq BIGINT NOT NULL,
        ack TEXT NOT NULL,
        PRIMARY KEY (meter, "user")
      );
      CREATE TABLE ${s}.batches (
        asset_id TEXT NOT NULL,
        epoch BIGINT NOT NULL,
        status TEXT NOT NULL,
        revenue NUMERIC(78, 0) NOT NULL,
        receipt_count BIGINT NOT NULL,
        receipts_root TEXT NOT NULL,
        rebate_root TEXT NOT NULL,
        batch_uri TEXT NOT NULL,
        batch_hash TEXT NOT NULL,
        tx_hash TEXT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (asset_id, epoch)
      );
    `,
  },
  {
    version: 2,
    // Chains are keyed by (asset, meter, user): one meter key serving two assets numbers each
    // asset's receipts from seq 1. Existing rows keep their asset_id and seq (unique per (meter,
    // user) before, so per (asset, meter, user) too); each chain's head is its asset's highest
    // seq. An ack is kept only if it names a stored receipt (an ack of a made-up seq stored by
    // an older version is dropped). Nonces: the durable register, bounded by keep_until.
    name: 'chains keyed by asset; durable nonce register',
    up: (s) => `
      ALTER TABLE ${s}.receipts DROP CONSTRAINT receipts_chain_seq_key;
      ALTER TABLE ${s}.receipts
        ADD CONSTRAINT receipts_chain_seq_key UNIQUE (asset_id, meter, "user", seq);
      CREATE TABLE ${s}.chain_heads_v2 (
        asset_id TEXT NOT NULL,
        meter TEXT NOT NULL,
        "user" TEXT NOT NULL,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (asset_id, meter, "user")
      );
      INSERT INTO ${s}.chain_heads_v2 (asset_id, meter, "user", seq, hash)
        SELECT DISTINCT ON (asset_id, meter, "user") asset_id, meter, "user", seq, hash
        FROM ${s}.receipts ORDER BY asset_id, meter, "user", seq DESC;
      DROP TABLE ${s}.chain_heads;
      ALTER TABLE ${s}.chain_heads_v2 RENAME TO chain_heads;
      ALTER INDEX ${s}.chain_heads_v2_pkey RENAME TO chain_heads_pkey;
      CREATE TABLE ${s}.acks_v2 (
        asset_id TEXT NOT NULL,
        meter TEXT NOT NULL,
        "user" TEXT NOT NULL,
        seq BIGINT NOT NULL,
        ack TEXT NOT NULL,
        PRIMARY KEY (asset_id, meter, "user")
      );
      INSERT INTO ${s}.acks_v2 (asset_id, meter, "user", seq, ack)
        SELECT r.asset_id, a.meter, a."user", a.seq, a.ack FROM ${s}.acks a
        JOIN ${s}.receipts r ON r.meter = a.meter AND r."user" = a."user" AND r.seq = a.seq;
      DROP TABLE ${s}.acks;
      ALTER TABLE ${s}.acks_v2 RENAME TO acks;
      ALTER INDEX ${s}.acks_v2_pkey RENAME TO acks_pkey;
      CREATE TABLE ${s}.nonces (
        asset_id TEXT NOT NULL,
        "user" TEXT NOT NULL,
        nonce NUMERIC(78, 0) NOT NULL,
        keep_until BIGINT NOT NULL,
        PRIMARY KEY (asset_id, "user", nonce)
      );
      CREATE INDEX nonces_keep_until ON ${s}.nonces (keep_until);
    `,
  },
  {
    version: 3,
    // Receipts carry `cumulativeAmount` (the chain's running total) and acks sign it. Existing
    // rows get the running sum of their chain's amounts in seq order and their encodings are
    // rewritten to the current layout (see legacyLayout.ts: their signatures stay those of the
    // old layout); each chain head takes its receipt's total, which the next receipt adds to.
    name: 'cumulative amounts on receipts, chain heads and acks',
    up: (s) => `
      ALTER TABLE ${s}.receipts ADD COLUMN cumulative_amount NUMERIC(78, 0) NOT NULL DEFAULT 0;
      ALTER TABLE ${s}.chain_heads ADD COLUMN cumulative_amount NUMERIC(78, 0) NOT NULL DEFAULT 0;
    `,
    async backfill(client, s) {
      const { rows } = await client.query<{ id: string; chain: string; receipt: string }>(
        `SELECT id, asset_id || meter || "user" AS chain, receipt FROM ${s}.receipts
         ORDER BY asset_id, meter, "user", seq`,
      )
      const ids: string[] = []
      const encoded: string[] = []
      const totals: string[] = []
      let chain = ''
      let total = 0n
      for (const row of rows) {
        if (row.chain !== chain) {
          chain = row.chain
          total = 0n
        }
        const upgraded = upgradeLegacyReceipt(row.receipt, total)
        total = upgraded.cumulativeAmount
        ids.push(row.id)
        encoded.push(upgraded.encoded)
        totals.push(total.toString())
      }
      if (ids.length > 0)
        await client.query(
          `UPDATE ${s}.receipts r SET receipt = u.receipt, cumulative_amount = u.total
           FROM unnest($1::text[], $2::text[], $3::numeric[]) AS u(id, receipt, total)
           WHERE r.id = u.id`,
          [ids, encoded, totals],
        )
      await client.query(
        `UPDATE ${s}.chain_heads h SET cumulative_amount = r.cumulative_amount FROM ${s}.receipts r
         WHERE r.asset_id = h.asset_id AND r.meter = h.meter AND r."user" = h."user"
           AND r.seq = h.seq`,
      )
      const acks = await client.query<{
        asset_id: string
        meter: string
        user: string
        ack: string
        total: string
      }>(
        `SELECT a.asset_id, a.meter, a."user", a.ack, r.cumulative_amount AS total
         FROM ${s}.acks a JOIN ${s}.receipts r ON r.asset_id = a.asset_id AND r.meter = a.meter
           AND r."user" = a."user" AND r.seq = a.seq`,
      )
      for (const a of acks.rows)
        await client.query(
          `UPDATE ${s}.acks SET ack = $1 WHERE asset_id = $2 AND meter = $3 AND "user" = $4`,
          [upgradeLegacyAck(a.ack, BigInt(a.total)), a.asset_id, a.meter, a.user],
        )
    },
  },
  {
    version: 4,
    // Prepaid coverage: the reservations of calls in flight, shared by every meter process on
    // the schema (see reserve), and the user's chain heads found by user.
    name: 'prepaid reservations',
    up: (s) => `
      CREATE TABLE ${s}.reservations (
        id TEXT PRIMARY KEY,
        asset_id TEXT NOT NULL,
        meter TEXT NOT NULL,
        "user" TEXT NOT NULL,
        amount NUMERIC(78, 0) NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX reservations_user ON ${s}.reservations ("user");
      CREATE INDEX chain_heads_user ON ${s}.chain_heads ("user");
    `,
  },
  {
    version: 5,
    // Receipts carry `cacheWriteTokens`, `priceTable` and `attestation` (issue #15). Rows in the
    // tag-4 layout are rewritten to the current one with those fields zero (see
    // legacyLayout.ts); no column changes.
    name: 'receipts carry cacheWriteTokens, priceTable and attestation',
    up: () => '',
    async backfill(client, s) {
      const { rows } = await client.query<{ id: string; receipt: string }>(
        `SELECT id, receipt FROM ${s}.receipts`,
      )
      const ids: string[] = []
      const encoded: string[] = []
      for (const row of rows) {
        const upgraded = upgradeLegacyReceipt(row.receipt, 0n).encoded
        if (upgraded === row.receipt) continue
        ids.push(row.id)
        encoded.push(upgraded)
      }
      if (ids.length > 0)
        await client.query(
          `UPDATE ${s}.receipts r SET receipt = u.receipt
           FROM unnest($1::text[], $2::text[]) AS u(id, receipt) WHERE r.id = u.id`,
          [ids, encoded],
        )
    },
  },
]

const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/** The schema name as a quoted SQL identifier; names that would need escaping are refused. */
export function quoteSchema(schema: string): string {
  if (!identifier.test(schema))
    throw new InvalidStoreOptionsError({
      shortMessage: `Invalid PostgreSQL schema name "${schema}".`,
      details: 'Use letters, digits and underscores (at most 63), not starting with a digit.',
    })
  return `"${schema}"`
}

/**
 * Applies the missing migrations in one transaction under a transaction-level advisory lock
 * keyed by the schema name, so processes starting at once migrate one after the other and the
 * later ones find nothing to do.
 */
export async function migratePostgres(
  pool: Pool,
  schema: string,
  migrations: readonly PostgresMigration[] = postgresMigrations,
): Promise<void> {
  const s = quoteSchema(schema)
  const latest = migrations.at(-1)?.version ?? 0
  await withTransaction(pool, undefined, async (client) => {
    // A migration may rewrite a large table: the store's statement_timeout is for appends.
    await client.query('SET LOCAL statement_timeout = 0')
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`@rma/store:${schema}`])
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`)
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`,
    )
    const { rows } = await client.query<{ current: number }>(
      `SELECT coalesce(max(version), 0) AS current FROM ${s}.migrations`,
    )
    const current = rows[0]!.current
    if (current > latest) throw schemaTooNewError(current, latest)
    for (const migration of migrations) {
      if (migration.version <= current) continue
      const sql = migration.up(s)
      if (sql) await client.query(sql)
      await migration.backfill?.(client, s)
      await client.query(`INSERT INTO ${s}.migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ])
    }
  })
}
