import type Database from 'better-sqlite3'
import type { BatchRow, ReceiptRow } from './receipts.js'

/** A receipt row as selected for callers. */
export type SelectedReceipt = { id: string; hash: string; epoch: number | null; receipt: string }

const receiptColumns = 'id, hash, epoch, receipt'
const byChain = 'ORDER BY meter, "user", seq'

type Statement<P extends unknown[] | object = unknown[], R = unknown> = Database.Statement<P, R>
type Lookup = [string, string]

/** Every statement the SQLite store runs, prepared once at open. */
export type SqliteStatements = {
  begin: Statement<[]>
  commit: Statement<[]>
  rollback: Statement<[]>
  insertReceipt: Statement<[ReceiptRow]>
  idExists: Statement<[string], { one: 1 }>
  head: Statement<Lookup, { seq: number; hash: string }>
  get: Statement<[string], SelectedReceipt>
  getByHash: Statement<[string], SelectedReceipt>
  listByUser: Statement<[string, number, number, number], SelectedReceipt>
  listUnsettled: Statement<[string, number], SelectedReceipt>
  listBatch: Statement<[string, number], SelectedReceipt>
  settlement: Statement<[string], { asset_id: string; epoch: number | null }>
  settle: Statement<[number, string]>
  addAck: Statement<[string, string, number, string]>
  latestAck: Statement<Lookup, { ack: string }>
  saveBatch: Statement<(string | number | null)[]>
  getBatch: Statement<[string, number], BatchRow>
  latestBatch: Statement<[string], BatchRow>
}

export function prepareSqliteStatements(db: Database.Database): SqliteStatements {
  return {
    begin: db.prepare<[]>('BEGIN IMMEDIATE'),
    commit: db.prepare<[]>('COMMIT'),
    rollback: db.prepare<[]>('ROLLBACK'),
    insertReceipt: db.prepare<[ReceiptRow]>(
      `INSERT INTO receipts (id, hash, asset_id, meter, "user", seq, timestamp, receipt)
       VALUES (@id, @hash, @assetId, @meter, @user, @seq, @timestamp, @receipt)`,
    ),
    idExists: db.prepare<[string], { one: 1 }>('SELECT 1 AS one FROM receipts WHERE id = ?'),
    head: db.prepare<[string, string], { seq: number; hash: string }>(
      'SELECT seq, hash FROM receipts WHERE meter = ? AND "user" = ? ORDER BY seq DESC LIMIT 1',
    ),
    get: db.prepare<[string], SelectedReceipt>(
      `SELECT ${receiptColumns} FROM receipts WHERE id = ?`,
    ),
    getByHash: db.prepare<[string], SelectedReceipt>(
      `SELECT ${receiptColumns} FROM receipts WHERE hash = ?`,
    ),
    listByUser: db.prepare<[string, number, number, number], SelectedReceipt>(
      `SELECT ${receiptColumns} FROM receipts WHERE "user" = ? AND timestamp >= ? AND timestamp < ?
       ORDER BY timestamp, meter, seq LIMIT ?`,
    ),
    listUnsettled: db.prepare<[string, number], SelectedReceipt>(
      `SELECT ${receiptColumns} FROM receipts WHERE asset_id = ? AND epoch IS NULL ${byChain} LIMIT ?`,
    ),
    listBatch: db.prepare<[string, number], SelectedReceipt>(
      `SELECT ${receiptColumns} FROM receipts WHERE asset_id = ? AND epoch = ? ${byChain}`,
    ),
    settlement: db.prepare<[string], { asset_id: string; epoch: number | null }>(
      'SELECT asset_id, epoch FROM receipts WHERE hash = ?',
    ),
    settle: db.prepare<[number, string]>(
      'UPDATE receipts SET epoch = ? WHERE hash = ? AND epoch IS NULL',
    ),
    addAck: db.prepare<[string, string, number, string]>(
      `INSERT INTO acks (meter, "user", seq, ack) VALUES (?, ?, ?, ?)
       ON CONFLICT (meter, "user") DO UPDATE SET seq = excluded.seq, ack = excluded.ack
       WHERE excluded.seq > acks.seq`,
    ),
    latestAck: db.prepare<[string, string], { ack: string }>(
      'SELECT ack FROM acks WHERE meter = ? AND "user" = ?',
    ),
    saveBatch: db.prepare<(string | number | null)[]>(
      `INSERT INTO batches (asset_id, epoch, status, revenue, receipt_count, receipts_root,
         rebate_root, batch_uri, batch_hash, tx_hash, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (asset_id, epoch) DO UPDATE SET status = excluded.status,
         revenue = excluded.revenue, receipt_count = excluded.receipt_count,
         receipts_root = excluded.receipts_root, rebate_root = excluded.rebate_root,
         batch_uri = excluded.batch_uri, batch_hash = excluded.batch_hash,
         tx_hash = excluded.tx_hash, created_at = excluded.created_at`,
    ),
    getBatch: db.prepare<[string, number], BatchRow>(
      'SELECT * FROM batches WHERE asset_id = ? AND epoch = ?',
    ),
    latestBatch: db.prepare<[string], BatchRow>(
      'SELECT * FROM batches WHERE asset_id = ? ORDER BY epoch DESC LIMIT 1',
    ),
  }
}
