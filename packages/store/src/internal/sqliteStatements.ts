import type Database from 'better-sqlite3'
import type { BatchRow } from './receipts.js'

/** A receipt row as selected for callers. */
export type SelectedReceipt = { id: string; hash: string; epoch: number | null; receipt: string }

const receiptColumns = 'id, hash, epoch, receipt'
const byChain = 'ORDER BY meter, "user", seq'

type Statement<P extends unknown[] | object = unknown[], R = unknown> = Database.Statement<P, R>
type Lookup = [string, string, string]

/**
 * Every statement the SQLite store runs on the main thread, prepared once at open: reads only.
 * Writes go to the writer thread (sqliteWriter.ts), which has its own connection.
 */
export type SqliteStatements = {
  head: Statement<Lookup, { seq: number; hash: string; cumulative_amount: string }>
  get: Statement<[string], SelectedReceipt>
  getByHash: Statement<[string], SelectedReceipt>
  listByUser: Statement<[string, number, number, number], SelectedReceipt>
  listUnsettled: Statement<[string, number], SelectedReceipt>
  listBatch: Statement<[string, number], SelectedReceipt>
  latestAck: Statement<Lookup, { ack: string }>
  ackedSeq: Statement<Lookup, { seq: number }>
  chainsOf: Statement<
    [string],
    { asset_id: string; meter: string; seq: number; hash: string; cumulative_amount: string }
  >
  getBatch: Statement<[string, number], BatchRow>
  latestBatch: Statement<[string], BatchRow>
}

export function prepareSqliteStatements(db: Database.Database): SqliteStatements {
  return {
    head: db.prepare<Lookup, { seq: number; hash: string; cumulative_amount: string }>(
      `SELECT seq, hash, cumulative_amount FROM receipts WHERE asset_id = ? AND meter = ? AND "user" = ?
       ORDER BY seq DESC LIMIT 1`,
    ),
    get: db.prepare<[string], SelectedReceipt>(
      `SELECT ${receiptColumns} FROM receipts WHERE id = ?`,
    ),
    getByHash: db.prepare<[string], SelectedReceipt>(
      `SELECT ${receiptColumns} FROM receipts WHERE hash = ?`,
    ),
    listByUser: db.prepare<[string, number, number, number], SelectedReceipt>(
      `SELECT ${receiptColumns} FROM receipts WHERE "user" = ? AND timestamp >= ? AND timestamp < ?
       ORDER BY timestamp, asset_id, meter, seq LIMIT ?`,
    ),
    // Both use receipts_asset_epoch, then sort the asset's run by chain.
    listUnsettled: db.prepare<[string, number], SelectedReceipt>(
      `SELECT ${receiptColumns} FROM receipts INDEXED BY receipts_asset_epoch
       WHERE asset_id = ? AND epoch IS NULL ${byChain} LIMIT ?`,
    ),
    listBatch: db.prepare<[string, number], SelectedReceipt>(
      `SELECT ${receiptColumns} FROM receipts INDEXED BY receipts_asset_epoch
       WHERE asset_id = ? AND epoch = ? ${byChain}`,
    ),
    latestAck: db.prepare<Lookup, { ack: string }>(
      'SELECT ack FROM acks WHERE asset_id = ? AND meter = ? AND "user" = ?',
    ),
    ackedSeq: db.prepare<Lookup, { seq: number }>(
      'SELECT seq FROM acks WHERE asset_id = ? AND meter = ? AND "user" = ?',
    ),
    // Each chain's head: the user's rows by receipts_user_time, each checked against its
    // chain's highest seq through the (asset_id, meter, "user", seq) unique index.
    chainsOf: db.prepare<
      [string],
      { asset_id: string; meter: string; seq: number; hash: string; cumulative_amount: string }
    >(
      `SELECT asset_id, meter, seq, hash, cumulative_amount FROM receipts r WHERE "user" = ?
       AND seq = (SELECT max(seq) FROM receipts WHERE asset_id = r.asset_id AND meter = r.meter
         AND "user" = r."user")`,
    ),
    getBatch: db.prepare<[string, number], BatchRow>(
      'SELECT * FROM batches WHERE asset_id = ? AND epoch = ?',
    ),
    latestBatch: db.prepare<[string], BatchRow>(
      'SELECT * FROM batches WHERE asset_id = ? ORDER BY epoch DESC LIMIT 1',
    ),
  }
}
