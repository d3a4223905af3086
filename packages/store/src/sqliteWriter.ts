// The writer thread of createSqliteStore: it owns the store's only write connection, so commits
// (page writes, fsync, WAL checkpoints) never block the thread that signs receipts.
//
// Self-contained on purpose: it runs from dist (built next to index.js / index.cjs) and, in this
// repository's tests, straight from source (Node strips the types), so it imports nothing of the
// package at runtime, only types.
import { statSync } from 'node:fs'
import { receiveMessageOnPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'
import type {
  RowOutcome,
  RowTuple,
  SerializedError,
  WriterData,
  WriterReply,
  WriterRequest,
} from './internal/sqliteWriterProtocol.js'

/** Checkpoint once the writer is idle and this many receipts went into the WAL... */
const checkpointIdleRows = 256
/** ...and even while requests keep coming, past this many. */
const checkpointBusyRows = 4096
/** A WAL this long (frames of 4 KiB) was not reset by the last checkpoints: wait for readers. */
const restartFrames = 4096

/** Expired nonces deleted per statement, so a sweep never holds the write lock for long. */
const sweepRows = 10_000

const { path, synchronous, busyTimeoutMs, nonceSweepIntervalMs, port } = workerData as WriterData
const db = new Database(path, { timeout: busyTimeoutMs })
db.pragma(`synchronous = ${synchronous}`)
// The file this connection writes. A commit first checks that the path still names it: once the
// file or its directory is removed (or replaced), commits would go to an unlinked inode and be
// lost at restart, so they fail instead.
const opened = identity()
// SQLite would checkpoint inside COMMIT, before the commit is reported; the writer checkpoints
// between commits instead, when no request is waiting (see the message handler).
db.pragma('wal_autocheckpoint = 0')

const sql = {
  begin: db.prepare('BEGIN IMMEDIATE'),
  commit: db.prepare('COMMIT'),
  rollback: db.prepare('ROLLBACK'),
  savepoint: db.prepare('SAVEPOINT settle'),
  release: db.prepare('RELEASE settle'),
  rollbackTo: db.prepare('ROLLBACK TO settle'),
  insertReceipt: db.prepare<RowTuple>(
    `INSERT INTO receipts (id, hash, asset_id, meter, "user", seq, timestamp, cumulative_amount, receipt)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ),
  receiptNamed: db.prepare<[string, string, string, string, number, string], { found: number }>(
    `SELECT 1 AS found FROM receipts
     WHERE hash = ? AND asset_id = ? AND meter = ? AND "user" = ? AND seq = ?
       AND cumulative_amount = ?`,
  ),
  addAck: db.prepare<[string, string, string, number, string]>(
    `INSERT INTO acks (asset_id, meter, "user", seq, ack) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (asset_id, meter, "user") DO UPDATE SET seq = excluded.seq, ack = excluded.ack
     WHERE excluded.seq > acks.seq`,
  ),
  claimNonce: db.prepare<[string, string, string, number]>(
    `INSERT INTO nonces (asset_id, "user", nonce, keep_until) VALUES (?, ?, ?, ?)
     ON CONFLICT DO NOTHING`,
  ),
  sweepNonces: db.prepare<[number, number]>(
    `DELETE FROM nonces WHERE (asset_id, "user", nonce) IN
       (SELECT asset_id, "user", nonce FROM nonces WHERE keep_until < ? LIMIT ?)`,
  ),
  probe: db.prepare<[number]>(
    'INSERT INTO store_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at',
  ),
  createBatch: db.prepare<(string | number | null)[]>(
    `INSERT INTO batches (asset_id, epoch, status, revenue, receipt_count, receipts_root,
       rebate_root, batch_uri, batch_hash, tx_hash, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (asset_id, epoch) DO NOTHING`,
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
  settlement: db.prepare<[string], { asset_id: string; epoch: number | null }>(
    'SELECT asset_id, epoch FROM receipts WHERE hash = ?',
  ),
  settle: db.prepare<[number, string]>(
    'UPDATE receipts SET epoch = ? WHERE hash = ? AND epoch IS NULL',
  ),
  // PASSIVE copies what it can without waiting; RESTART also waits for readers of the WAL to
  // finish, so that the next commit writes the WAL from its start again.
  checkpoint: db.prepare<[], { busy: number; log: number; checkpointed: number }>(
    'PRAGMA wal_checkpoint(PASSIVE)',
  ),
  restart: db.prepare('PRAGMA wal_checkpoint(RESTART)'),
}

let rowsSinceCheckpoint = 0
let lastSweep = 0
let sweepTimer: ReturnType<typeof setTimeout> | undefined
let closed = false

port.on('message', (first: WriterRequest) => {
  let next: WriterRequest | undefined = first
  while (next) {
    // Everything already waiting joins this transaction: group commit across requests.
    const group = [next]
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port))
      group.push(m.message as WriterRequest)
    if (!run(group)) return
    if (rowsSinceCheckpoint >= checkpointBusyRows) checkpoint()
    // Between commits, after the replies went out: a sweep never delays a waiting caller.
    sweepIfDue()
    next = receiveMessageOnPort(port)?.message as WriterRequest | undefined
  }
  if (rowsSinceCheckpoint >= checkpointIdleRows) checkpoint()
})

/** The file's identity, or undefined when the path names nothing. */
function identity(): { dev: number; ino: number } | undefined {
  try {
    const { dev, ino } = statSync(path)
    return { dev, ino }
  } catch {
    return undefined
  }
}

/** Why the path no longer names the file this connection writes, if it does not. */
function fileGone(): string | undefined {
  const now = identity()
  if (!now) return `${path} was removed while the store was open`
  if (now.dev !== opened?.dev || now.ino !== opened?.ino)
    return `${path} was replaced by another file while the store was open`
  return undefined
}

/**
 * Deletes nonces past their keepUntil, a bounded number per statement, so the register stays as
 * large as what is still valid. Runs at most once per interval; a sweep that hit its bound goes
 * on at the next one, or sooner when the writer is idle.
 */
function sweepIfDue(): void {
  const now = Date.now()
  if (closed || now - lastSweep < nonceSweepIntervalMs) return
  lastSweep = now
  let deleted = 0
  try {
    deleted = sql.sweepNonces.run(Math.floor(now / 1000), sweepRows).changes
  } catch {
    // A busy or failing file: the next sweep tries again; claims do not depend on it.
    return
  }
  if (deleted === sweepRows && !sweepTimer) {
    sweepTimer = setTimeout(() => {
      sweepTimer = undefined
      sweepIfDue()
    }, nonceSweepIntervalMs)
    sweepTimer.unref()
  }
}

/** Runs one group in one transaction and replies to each request; false once closed. */
function run(group: WriterRequest[]): boolean {
  const writes = group.filter((request) => request.kind !== 'close')
  if (writes.length > 0) for (const reply of commit(writes)) port.postMessage(reply)
  if (writes.length === group.length) return true
  closed = true
  if (sweepTimer) clearTimeout(sweepTimer)
  checkpoint()
  db.close()
  port.close()
  return false
}

function commit(requests: WriterRequest[]): WriterReply[] {
  const started = performance.now()
  const replies: WriterReply[] = []
  // Chains with a failed row in this transaction: their later rows were signed on top of it.
  const broken = new Set<string>()
  try {
    const gone = fileGone()
    if (gone)
      throw Object.assign(new Error(gone), { name: 'StoreError', code: 'STORE_UNAVAILABLE' })
    sql.begin.run()
    for (const request of requests) replies.push(apply(request, broken))
    sql.commit.run()
  } catch (error) {
    try {
      if (db.inTransaction) sql.rollback.run()
    } catch {
      // The group fails with `error` anyway; SQLite rolls back when the next BEGIN runs.
    }
    return requests.map((request) => ({ id: request.id, error: serialize(error) }))
  }
  const durationMs = performance.now() - started
  for (const reply of replies)
    if ('kind' in reply && reply.kind === 'append') reply.durationMs = durationMs
  return replies
}

function apply(request: WriterRequest, broken: Set<string>): WriterReply {
  const { id } = request
  try {
    switch (request.kind) {
      case 'append': {
        const outcomes: RowOutcome[] = []
        for (const row of request.rows) {
          const chain = `${row[2]}:${row[3]}:${row[4]}`
          if (broken.has(chain)) {
            outcomes.push('reset')
            continue
          }
          try {
            sql.insertReceipt.run(...row)
            outcomes.push(null)
            rowsSinceCheckpoint++
          } catch (error) {
            // A constraint error undoes only its statement; anything else may have ended the
            // transaction, and then the whole group fails.
            if (!db.inTransaction) throw error
            outcomes.push(serialize(error))
            broken.add(chain)
          }
        }
        return { id, kind: 'append', outcomes, durationMs: 0 }
      }
      case 'ack': {
        const { hash, assetId, meter, user, seq, cumulativeAmount } = request
        // An ack naming no stored receipt (a made-up seq 2^53 - 1, say) would supersede every
        // genuine ack of its chain: refused, nothing stored.
        if (!sql.receiptNamed.get(hash, assetId, meter, user, seq, cumulativeAmount))
          return { id, kind: 'changed', changed: false }
        sql.addAck.run(assetId, meter, user, seq, request.ack)
        return { id, kind: 'changed', changed: true }
      }
      case 'batch':
        if (request.create)
          return {
            id,
            kind: 'changed',
            changed: sql.createBatch.run(...request.values).changes > 0,
          }
        sql.saveBatch.run(...request.values)
        return { id, kind: 'done' }
      case 'nonce': {
        const { assetId, user, nonce, keepUntil } = request
        const { changes } = sql.claimNonce.run(assetId, user, nonce, keepUntil)
        return { id, kind: 'changed', changed: changes > 0 }
      }
      case 'probe':
        sql.probe.run(Date.now())
        return { id, kind: 'done' }
      case 'settle':
        return settle(request)
      default:
        throw new Error(`Unknown writer request ${String((request as { kind: unknown }).kind)}.`)
    }
  } catch (error) {
    if (!db.inTransaction) throw error
    return { id, error: serialize(error) }
  }
}

/**
 * markSettled: every hash must be a receipt of the asset, unsettled or already in this epoch
 * (the rule of assertSettleable, which the main thread applies to `found` to word the error).
 * All or nothing: a failed check or statement changes nothing.
 */
function settle(request: Extract<WriterRequest, { kind: 'settle' }>): WriterReply {
  const { id, assetId, epoch, hashes } = request
  const found: [string, string, number | null][] = []
  let settleable = true
  for (const hash of hashes) {
    const row = sql.settlement.get(hash)
    if (!row) settleable = false
    else {
      found.push([hash, row.asset_id, row.epoch])
      if (row.asset_id !== assetId || (row.epoch !== null && row.epoch !== epoch))
        settleable = false
    }
  }
  if (!settleable) return { id, kind: 'settle', settled: false, found }
  sql.savepoint.run()
  try {
    for (const hash of hashes) sql.settle.run(epoch, hash)
    sql.release.run()
  } catch (error) {
    if (db.inTransaction) {
      sql.rollbackTo.run()
      sql.release.run()
    }
    throw error
  }
  return { id, kind: 'settle', settled: true, found }
}

function checkpoint(): void {
  rowsSinceCheckpoint = 0
  try {
    const result = sql.checkpoint.get()
    // Reads on the other connection kept SQLite from starting the WAL over, and it grew.
    if (result && result.log > restartFrames) sql.restart.get()
  } catch {
    // Commits do not depend on it: the WAL only grows until a later checkpoint succeeds.
  }
}

function serialize(error: unknown): SerializedError {
  if (error instanceof Error)
    return { name: error.name, message: error.message, code: (error as { code?: string }).code }
  return { name: 'Error', message: String(error) }
}
