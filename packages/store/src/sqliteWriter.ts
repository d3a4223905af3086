// The writer thread of createSqliteStore: it owns the store's only write connection, so commits
// (page writes, fsync, WAL checkpoints) never block the thread that signs receipts.
//
// Self-contained on purpose: it runs from dist (built next to index.js / index.cjs) and, in this
// repository's tests, straight from source (Node strips the types), so it imports nothing of the
// package at runtime, only types.
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

const { path, synchronous, port } = workerData as WriterData
const db = new Database(path)
db.pragma(`synchronous = ${synchronous}`)
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
    `INSERT INTO receipts (id, hash, asset_id, meter, "user", seq, timestamp, receipt)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ),
  addAck: db.prepare<[string, string, number, string]>(
    `INSERT INTO acks (meter, "user", seq, ack) VALUES (?, ?, ?, ?)
     ON CONFLICT (meter, "user") DO UPDATE SET seq = excluded.seq, ack = excluded.ack
     WHERE excluded.seq > acks.seq`,
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

port.on('message', (first: WriterRequest) => {
  let next: WriterRequest | undefined = first
  while (next) {
    // Everything already waiting joins this transaction: group commit across requests.
    const group = [next]
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port))
      group.push(m.message as WriterRequest)
    if (!run(group)) return
    if (rowsSinceCheckpoint >= checkpointBusyRows) checkpoint()
    next = receiveMessageOnPort(port)?.message as WriterRequest | undefined
  }
  if (rowsSinceCheckpoint >= checkpointIdleRows) checkpoint()
})

/** Runs one group in one transaction and replies to each request; false once closed. */
function run(group: WriterRequest[]): boolean {
  const writes = group.filter((request) => request.kind !== 'close')
  if (writes.length > 0) for (const reply of commit(writes)) port.postMessage(reply)
  if (writes.length === group.length) return true
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
          const chain = `${row[3]}:${row[4]}`
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
      case 'ack':
        sql.addAck.run(request.meter, request.user, request.seq, request.ack)
        return { id, kind: 'done' }
      case 'batch':
        sql.saveBatch.run(...request.values)
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
