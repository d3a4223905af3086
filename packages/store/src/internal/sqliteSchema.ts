import type Database from 'better-sqlite3'
import { upgradeLegacyAck, upgradeLegacyReceipt } from './legacyLayout.js'
import { schemaTooNewError } from './storeErrors.js'

/** `backfill` runs after `up`, in the same transaction, for what SQL alone cannot compute. */
export type Migration = {
  version: number
  name: string
  up: string
  backfill?: (db: Database.Database) => void
}

/**
 * The SQLite schema, one entry per version. Never edit an applied migration: append a new one.
 * Addresses and hashes are stored lowercase; money is decimal TEXT (exact for any uint256).
 */
export const sqliteMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'receipts, acks, batches',
    up: `
      CREATE TABLE receipts (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        asset_id TEXT NOT NULL,
        meter TEXT NOT NULL,
        "user" TEXT NOT NULL,
        seq INTEGER NOT NULL,
        timestamp INTEGER NOT NULL,
        epoch INTEGER,
        receipt TEXT NOT NULL,
        UNIQUE (meter, "user", seq)
      ) STRICT;
      CREATE INDEX receipts_user_time ON receipts ("user", timestamp);
      CREATE INDEX receipts_asset_epoch ON receipts (asset_id, epoch, meter, "user", seq);
      CREATE TABLE acks (
        meter TEXT NOT NULL,
        "user" TEXT NOT NULL,
        seq INTEGER NOT NULL,
        ack TEXT NOT NULL,
        PRIMARY KEY (meter, "user")
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE batches (
        asset_id TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        status TEXT NOT NULL,
        revenue TEXT NOT NULL,
        receipt_count INTEGER NOT NULL,
        receipts_root TEXT NOT NULL,
        rebate_root TEXT NOT NULL,
        batch_uri TEXT NOT NULL,
        batch_hash TEXT NOT NULL,
        tx_hash TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (asset_id, epoch)
      ) STRICT;
    `,
  },
  {
    version: 2,
    // (asset_id, epoch) alone keeps its rows in rowid (insertion) order within an asset and
    // epoch, so a commit adds to the end of one run instead of one spot per chain: a commit
    // writes fewer index pages. listUnsettled / listBatchReceipts sort that run by chain.
    name: 'narrow receipts_asset_epoch to (asset_id, epoch)',
    up: `
      DROP INDEX receipts_asset_epoch;
      CREATE INDEX receipts_asset_epoch ON receipts (asset_id, epoch);
    `,
  },
  {
    version: 3,
    // Chains are keyed by (asset, meter, user): one meter key serving two assets numbers each
    // asset's receipts from seq 1. Existing rows keep their asset_id and seq (unique per (meter,
    // user) before, so unique per (asset, meter, user) too); a chain continues from its asset's
    // highest seq. An ack is kept only if it names a stored receipt (its asset comes from that
    // receipt): an ack of a made-up seq stored by an older version is dropped here.
    name: 'chains keyed by asset; durable nonce register; write probe',
    up: `
      CREATE TABLE receipts_v3 (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        asset_id TEXT NOT NULL,
        meter TEXT NOT NULL,
        "user" TEXT NOT NULL,
        seq INTEGER NOT NULL,
        timestamp INTEGER NOT NULL,
        epoch INTEGER,
        receipt TEXT NOT NULL,
        UNIQUE (asset_id, meter, "user", seq)
      ) STRICT;
      INSERT INTO receipts_v3 (id, hash, asset_id, meter, "user", seq, timestamp, epoch, receipt)
        SELECT id, hash, asset_id, meter, "user", seq, timestamp, epoch, receipt FROM receipts
        ORDER BY rowid;
      CREATE TABLE acks_v3 (
        asset_id TEXT NOT NULL,
        meter TEXT NOT NULL,
        "user" TEXT NOT NULL,
        seq INTEGER NOT NULL,
        ack TEXT NOT NULL,
        PRIMARY KEY (asset_id, meter, "user")
      ) STRICT, WITHOUT ROWID;
      INSERT INTO acks_v3 (asset_id, meter, "user", seq, ack)
        SELECT r.asset_id, a.meter, a."user", a.seq, a.ack FROM acks a
        JOIN receipts r ON r.meter = a.meter AND r."user" = a."user" AND r.seq = a.seq;
      DROP TABLE acks;
      ALTER TABLE acks_v3 RENAME TO acks;
      DROP TABLE receipts;
      ALTER TABLE receipts_v3 RENAME TO receipts;
      CREATE INDEX receipts_user_time ON receipts ("user", timestamp);
      CREATE INDEX receipts_asset_epoch ON receipts (asset_id, epoch);
      CREATE TABLE nonces (
        asset_id TEXT NOT NULL,
        "user" TEXT NOT NULL,
        nonce TEXT NOT NULL,
        keep_until INTEGER NOT NULL,
        PRIMARY KEY (asset_id, "user", nonce)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX nonces_keep_until ON nonces (keep_until);
      CREATE TABLE store_probe (id INTEGER PRIMARY KEY, at INTEGER NOT NULL) STRICT;
    `,
  },
  {
    version: 4,
    // Receipts carry `cumulativeAmount` (the chain's running total) and acks sign it. Existing
    // rows get the running sum of their chain's amounts in seq order, and their encodings are
    // rewritten to the current layout (see legacyLayout.ts: their signatures stay those of the
    // old layout). The head's cumulative_amount is what the next receipt adds to.
    name: 'cumulative amounts on receipts and acks',
    up: `
      ALTER TABLE receipts ADD COLUMN cumulative_amount TEXT NOT NULL DEFAULT '0';
    `,
    backfill(db) {
      const rows = db
        .prepare<[], { id: string; chain: string; receipt: string }>(
          `SELECT id, asset_id || meter || "user" AS chain, receipt FROM receipts
           ORDER BY asset_id, meter, "user", seq`,
        )
        .all()
      const update = db.prepare<[string, string, string]>(
        'UPDATE receipts SET receipt = ?, cumulative_amount = ? WHERE id = ?',
      )
      let chain = ''
      let total = 0n
      for (const row of rows) {
        if (row.chain !== chain) {
          chain = row.chain
          total = 0n
        }
        const upgraded = upgradeLegacyReceipt(row.receipt, total)
        total = upgraded.cumulativeAmount
        update.run(upgraded.encoded, total.toString(), row.id)
      }
      const acks = db
        .prepare<[], { asset_id: string; meter: string; user: string; ack: string; total: string }>(
          `SELECT a.asset_id, a.meter, a."user", a.ack, r.cumulative_amount AS total FROM acks a
           JOIN receipts r ON r.asset_id = a.asset_id AND r.meter = a.meter
             AND r."user" = a."user" AND r.seq = a.seq`,
        )
        .all()
      const updateAck = db.prepare<[string, string, string, string]>(
        'UPDATE acks SET ack = ? WHERE asset_id = ? AND meter = ? AND "user" = ?',
      )
      for (const a of acks)
        updateAck.run(upgradeLegacyAck(a.ack, BigInt(a.total)), a.asset_id, a.meter, a.user)
    },
  },
  {
    version: 5,
    // Receipts carry `cacheWriteTokens`, `priceTable` and `attestation` (issue #15). Rows in the
    // tag-4 layout are rewritten to the current one with those fields zero (see
    // legacyLayout.ts); no column changes.
    name: 'receipts carry cacheWriteTokens, priceTable and attestation',
    up: '',
    backfill(db) {
      const rows = db
        .prepare<[], { id: string; receipt: string }>('SELECT id, receipt FROM receipts')
        .all()
      const update = db.prepare<[string, string]>('UPDATE receipts SET receipt = ? WHERE id = ?')
      for (const row of rows) {
        const { encoded } = upgradeLegacyReceipt(row.receipt, 0n)
        if (encoded !== row.receipt) update.run(encoded, row.id)
      }
    },
  },
]

/**
 * Applies the missing migrations in one `BEGIN IMMEDIATE` transaction, which takes the write
 * lock first, so a second process opening the same file waits and then finds nothing to do.
 */
export function migrateSqlite(
  db: Database.Database,
  migrations: readonly Migration[] = sqliteMigrations,
): void {
  const latest = migrations.at(-1)?.version ?? 0
  db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
    )
    const { current } = db
      .prepare('SELECT coalesce(max(version), 0) AS current FROM migrations')
      .get() as {
      current: number
    }
    if (current > latest) throw schemaTooNewError(current, latest)
    const record = db.prepare('INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)')
    for (const migration of migrations) {
      if (migration.version <= current) continue
      db.exec(migration.up)
      migration.backfill?.(db)
      record.run(migration.version, migration.name, Date.now())
    }
  }).immediate()
}

/** The version a file was migrated to (0 for a new file). */
export function schemaVersion(db: Database.Database): number {
  const table = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'")
    .get()
  if (!table) return 0
  return (
    (db.prepare('SELECT coalesce(max(version), 0) FROM migrations').pluck().get() as number) ?? 0
  )
}
