import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type ChainRef,
  type ChainSummary,
  decodeAck,
  encodeAck,
  type Hex,
  type ReceiptStore,
} from '@rma/core'
import Database from 'better-sqlite3'
import { StoreError } from './errors.js'
import { createHoldBook, evaluateReserve } from './internal/coverage.js'
import {
  type CommitResult,
  createGroupCommitEngine,
  type GroupRow,
  type RowOutcome,
} from './internal/createGroupCommitEngine.js'
import {
  assertSettleable,
  batchValues,
  lower,
  lowerChain,
  normaliseHashes,
  type ReceiptRow,
  receiptValues,
  toBatchRecord,
  toChainHead,
  toStoredReceipt,
} from './internal/receipts.js'
import { migrateSqlite, schemaVersion, sqliteMigrations } from './internal/sqliteSchema.js'
import { prepareSqliteStatements } from './internal/sqliteStatements.js'
import {
  deserializeError,
  refusingSqliteWriter,
  type SqliteWriter,
  startSqliteWriter,
  type WriterCall,
} from './internal/sqliteWriterClient.js'
import type { SerializedError, WriterReply } from './internal/sqliteWriterProtocol.js'
import {
  ackUnknownReceiptError,
  closedError,
  duplicateIdError,
  hashTakenError,
  seqTakenError,
  unavailableError,
  writerFailedError,
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
  /** Time the transaction took on the writer thread, fsync included, in milliseconds. */
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
   * The database file; its directory is created. `':memory:'` gives a throwaway database (a
   * temporary file, deleted by `close()`).
   * @default './.rma/receipts.db'
   */
  path?: string
  /** Called after each group commit (synchronously, so keep it cheap and never throw). */
  onCommit?: (info: GroupCommitInfo) => void
  /**
   * Called once if the writer thread stops (it should not: a bug, or the thread running out of
   * memory). Writes waiting for it, and every later write, reject with `WRITER_FAILED` (the
   * receipts they carried may or may not be stored); reads keep working. Close the store and
   * open a new one.
   */
  onError?: (error: StoreError) => void
  /**
   * How long a commit waits for a write lock held by another connection (another process, a
   * backup) before its writes reject with `STORE_UNAVAILABLE`: appends never hang forever.
   * @default 5000
   */
  busyTimeoutMs?: number
  /**
   * Nonces past their `keepUntil` are deleted by the writer thread between commits, at most
   * this often, so the nonce register stays as large as what is still valid.
   * @default 1000
   */
  nonceSweepIntervalMs?: number
}

/**
 * How long a successful `checkWritable` (or commit) vouches for the file: the check runs before
 * every paid call, so within this window it costs a `stat` of the path, not a write.
 */
export const sqliteWritableCacheMs = 250

/**
 * The embedded default {@link ReceiptStore}: one SQLite file in WAL mode with
 * `synchronous = FULL`, so `append` resolves only after its receipt is fsynced.
 *
 * Writes run on a writer thread (`worker_threads`) that owns the only write connection, so a
 * commit never blocks the thread that signs; reads run on the calling thread's own connection.
 * Group commit: receipts signed while the previous commit runs, or in the same event-loop turn,
 * are written in one transaction (one fsync). Appends of one (meter, user) chain sign one after
 * the other, each on the head the previous one produced, without waiting for its commit; if a
 * receipt then fails to store, the receipts signed on top of it are signed again on the stored
 * head (the group-commit engine's failure policy, shared with PostgreSQL: see the README). One
 * process should write a file: a second writer is caught by the UNIQUE (meter, user, seq)
 * constraint (`RECEIPT_CONFLICT`), not coordinated.
 *
 * @example
 * import { createSqliteStore } from '@rma/store'
 *
 * const store = createSqliteStore({ path: './.rma/receipts.db' })
 * const stored = await store.append({ id: 'call-1', meter, user, sign: (head) => signNext(head) })
 * await store.close()
 */
export function createSqliteStore(options: CreateSqliteStoreOptions = {}): ReceiptStore {
  const { onCommit, onError, busyTimeoutMs = 5000, nonceSweepIntervalMs = 1000 } = options
  // The writer needs a file both threads can open: ':memory:' is a temporary one.
  const temporary =
    options.path === ':memory:' ? mkdtempSync(join(tmpdir(), 'rma-store-')) : undefined
  const path = temporary ? join(temporary, 'receipts.db') : (options.path ?? './.rma/receipts.db')
  const script = writerScript()
  let db: Database.Database | undefined
  /** Set when the file cannot be written at all: every write refuses, reads still work. */
  let readOnly: StoreError | undefined
  try {
    if (!temporary) mkdirSync(dirname(path), { recursive: true })
    const reason = temporary ? undefined : unwritableReason(path)
    if (reason) {
      // Opened read-write, SQLite would fall back to read-only (or, run as root, ignore the
      // mode): the store refuses writes instead, so a paid call is never served unrecorded.
      readOnly = unavailableError(reason)
      db = new Database(path, { readonly: true, fileMustExist: true })
      // Reads need the current schema, and migrating it would be a write.
      const version = schemaVersion(db)
      const latest = sqliteMigrations.at(-1)!.version
      if (version !== latest)
        throw unavailableError(
          `${reason.slice(0, -1)}, and its schema (version ${version}) must be migrated to version ${latest} first.`,
        )
    } else {
      db = new Database(path)
      db.pragma('journal_mode = WAL')
      migrateSqlite(db)
    }
  } catch (error) {
    db?.close()
    if (temporary) rmSync(temporary, { recursive: true, force: true })
    throw error
  }
  // This connection only reads from now on; the writer thread owns the writes.
  db.pragma('query_only = ON')
  const opened = fileIdentity(path)
  const sql = prepareSqliteStatements(db)
  const holds = createHoldBook()

  function chainsOf(user: Hex): ChainSummary[] {
    return sql.chainsOf.all(user).map((row) => ({
      assetId: row.asset_id as Hex,
      meter: row.meter as Hex,
      user,
      ...toChainHead(row),
    }))
  }
  const inflight = new Set<Promise<unknown>>()
  let closed = false

  /** Until when the last successful probe or commit vouches that the file can be written. */
  let writableUntil = 0
  let probing: Promise<void> | undefined

  // A read-only file: no writer thread (it could not write); every write refuses.
  const writer: SqliteWriter = readOnly
    ? refusingSqliteWriter(readOnly)
    : startSqliteWriter({
        script,
        path,
        synchronous: temporary ? 'OFF' : 'FULL',
        busyTimeoutMs,
        nonceSweepIntervalMs,
        // The group in flight is read back by the engine; later writes refuse.
        onFailure: (error) => onError?.(error),
      })

  function assertOpen(): void {
    if (closed) throw closedError()
  }

  function assertWritable(): void {
    assertOpen()
    if (readOnly) throw readOnly
    if (writer.failure) throw writer.failure
  }

  /** Why the store cannot write, from what is known without a write; undefined if none. */
  function knownUnavailable(): StoreError | undefined {
    if (readOnly) return readOnly
    if (writer.failure) return unavailableError('the writer thread stopped.', writer.failure)
    const now = fileIdentity(path)
    if (!now) return unavailableError(`${path} was removed while the store was open.`)
    if (now.dev !== opened?.dev || now.ino !== opened?.ino)
      return unavailableError(`${path} was replaced by another file while the store was open.`)
    return undefined
  }

  /** A real write through the writer thread, bounded by the busy timeout. */
  async function probe(): Promise<void> {
    const limit = busyTimeoutMs + 1000
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(unavailableError(`the writer thread did not commit within ${limit} ms.`)),
        limit,
      )
    })
    try {
      const reply = await Promise.race([writer.request({ kind: 'probe' }), timeout])
      if ('error' in reply) throw deserializeError(reply.error)
      writableUntil = Date.now() + sqliteWritableCacheMs
    } catch (error) {
      writableUntil = 0
      if (error instanceof StoreError && error.code === 'STORE_UNAVAILABLE') throw error
      throw unavailableError('a test write failed.', error)
    } finally {
      clearTimeout(timer)
    }
  }

  function isStored(row: ReceiptRow): boolean {
    try {
      return sql.get.get(row.id)?.hash === row.hash
    } catch {
      return false
    }
  }

  /** The writer's answer to a group: an outcome per row, or the transaction's failure. */
  function outcomesOf(group: readonly GroupRow[], reply: WriterReply): CommitResult {
    if ('error' in reply || reply.kind !== 'append') {
      // The transaction failed as a whole: nothing of the group was stored.
      writableUntil = 0
      const error =
        'error' in reply ? deserializeError(reply.error) : new Error('Unexpected writer reply.')
      return { error, maybeCommitted: false }
    }
    writableUntil = Date.now() + sqliteWritableCacheMs
    let stored = 0
    const outcomes = reply.outcomes.map((outcome, i): RowOutcome => {
      if (outcome === null) {
        stored++
        return 'stored'
      }
      if (outcome === 'reset') return 'skipped'
      return { error: insertError(outcome, group[i]!.row) }
    })
    if (onCommit && stored > 0) onCommit({ receipts: stored, durationMs: reply.durationMs })
    return { outcomes }
  }

  const engine = createGroupCommitEngine({
    readHead: (ref) => toChainHead(sql.head.get(ref.assetId, ref.meter, ref.user)),
    commit: (group) =>
      new Promise((resolve) => {
        if (writer.failure) {
          resolve({ error: writer.failure, maybeCommitted: false })
          return
        }
        writer.send(
          { kind: 'append', rows: group.map(({ row }) => receiptValues(row)) },
          (reply) => resolve(outcomesOf(group, reply)),
          // The thread may have committed the group and stopped before replying.
          (error) => resolve({ error, maybeCommitted: true }),
        )
      }),
    // Reads on this thread's connection see every commit of the writer (WAL).
    readBack: async (rows) => rows.map(isStored),
    refusal: () => readOnly ?? writer.failure,
  })

  /** A write other than an append: its own request, committed with whatever is waiting. */
  async function write(call: WriterCall): Promise<Exclude<WriterReply, { error: unknown }>> {
    assertWritable()
    const reply = await writer.request(call)
    if ('error' in reply) throw deserializeError(reply.error)
    return reply
  }

  function track<T>(result: Promise<T>): Promise<T> {
    inflight.add(result)
    const forget = () => inflight.delete(result)
    result.then(forget, forget)
    return result
  }

  const store: ReceiptStore = {
    append(parameters) {
      return track(
        (async () => {
          assertWritable()
          return engine.append(parameters)
        })(),
      )
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

    async head(chain: ChainRef) {
      assertOpen()
      const ref = lowerChain(chain)
      return toChainHead(sql.head.get(ref.assetId, ref.meter, ref.user))
    },

    async listByUser({ user, from = 0, to = Number.MAX_SAFE_INTEGER, limit = -1 }) {
      assertOpen()
      return sql.listByUser.all(lower(user), from, to, limit).map(toStoredReceipt)
    },

    async listUnsettled({ assetId, limit = -1 }) {
      assertOpen()
      return sql.listUnsettled.all(lower(assetId), limit).map(toStoredReceipt)
    },

    markSettled({ assetId, epoch, hashes }) {
      return track(
        (async () => {
          const a = lower(assetId)
          const unique = normaliseHashes(hashes)
          const reply = await write({ kind: 'settle', assetId: a, epoch, hashes: unique })
          if (reply.kind === 'settle' && reply.settled) return
          const found = new Map<string, { assetId: string; epoch: number | null }>()
          if (reply.kind === 'settle')
            for (const [hash, asset, settledIn] of reply.found)
              found.set(hash, { assetId: asset, epoch: settledIn })
          assertSettleable({ assetId: a, epoch, hashes: unique }, found)
          throw new Error('The writer refused a settleable markSettled.')
        })(),
      )
    },

    async listBatchReceipts({ assetId, epoch }) {
      assertOpen()
      return sql.listBatch.all(lower(assetId), epoch).map(toStoredReceipt)
    },

    addAck(ack) {
      return track(
        (async () => {
          const encoded = encodeAck(ack)
          const ref = lowerChain(ack)
          const reply = await write({
            kind: 'ack',
            hash: lower(ack.receiptHash),
            ...ref,
            seq: ack.seq,
            cumulativeAmount: ack.cumulativeAmount.toString(),
            ack: encoded,
          })
          if (reply.kind === 'changed' && !reply.changed) throw ackUnknownReceiptError(ack)
        })(),
      )
    },

    async listChains({ user }) {
      assertOpen()
      return chainsOf(lower(user))
    },

    // One process writes a file: reservations live in this process, and the rule runs on reads
    // of committed heads with no await in between, so it is atomic here.
    async reserve(parameters) {
      assertOpen()
      const chain = lowerChain(parameters.chain)
      const now = Date.now()
      const result = evaluateReserve(
        parameters,
        chainsOf(chain.user),
        sql.ackedSeq.get(chain.assetId, chain.meter, chain.user)?.seq ?? 0,
        holds.holdsOf(chain.user, now),
        now,
      )
      if (result.reserved) holds.add(parameters)
      return result
    },

    async release(id) {
      holds.release(id)
    },

    async latestAck(chain) {
      assertOpen()
      const ref = lowerChain(chain)
      const row = sql.latestAck.get(ref.assetId, ref.meter, ref.user)
      return row && decodeAck(row.ack)
    },

    claimNonce({ assetId, user, nonce, keepUntil }) {
      return track(
        (async () => {
          const reply = await write({
            kind: 'nonce',
            assetId: lower(assetId),
            user: lower(user),
            nonce: nonce.toString(),
            keepUntil,
          })
          return reply.kind === 'changed' && reply.changed
        })(),
      )
    },

    async checkWritable() {
      assertOpen()
      const known = knownUnavailable()
      if (known) throw known
      if (Date.now() < writableUntil) return
      probing ??= probe().finally(() => {
        probing = undefined
      })
      await probing
    },

    createBatch(batch) {
      return track(
        (async () => {
          const reply = await write({ kind: 'batch', create: true, values: batchValues(batch) })
          return reply.kind === 'changed' && reply.changed
        })(),
      )
    },

    saveBatch(batch) {
      return track(
        (async () => {
          await write({ kind: 'batch', create: false, values: batchValues(batch) })
        })(),
      )
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
      // Writes already accepted finish (their group commit runs) before the file closes.
      await Promise.allSettled(inflight)
      db.close()
      await writer.close()
      if (temporary) rmSync(temporary, { recursive: true, force: true })
    },
  }
  writers.set(store, writer)
  return store
}

const writers = new WeakMap<ReceiptStore, SqliteWriter>()

/** The writer thread of a SQLite store, to make it fail in tests. Not exported by the package. */
export function sqliteWriterOf(store: ReceiptStore): SqliteWriter | undefined {
  return writers.get(store)
}

/**
 * The writer thread's script, next to this module: `sqliteWriter.js` / `.cjs` beside
 * `dist/index.js` / `index.cjs`, `sqliteWriter.ts` beside this file when run from source.
 */
function writerScript(): URL {
  const here = import.meta.url
  const extension = /\.[cm]?[jt]s$/.exec(new URL(here).pathname)?.[0] ?? '.js'
  const script = new URL(`./sqliteWriter${extension}`, here)
  if (!existsSync(fileURLToPath(script)))
    throw writerFailedError(
      new Error(
        `${fileURLToPath(script)} is missing: ship @rma/store's dist folder whole (a bundler that inlines @rma/store must copy dist/sqliteWriter.js next to the bundle).`,
      ),
    )
  return script
}

/** Maps a constraint violation of the receipts table to a {@link StoreError}. */
function insertError(error: SerializedError, row: ReceiptRow): unknown {
  if (error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return duplicateIdError(row.id)
  if (error.code === 'SQLITE_CONSTRAINT_UNIQUE') {
    if (error.message.includes('receipts.hash')) return hashTakenError(row.hash)
    if (error.message.includes('receipts.seq')) return seqTakenError(row, row.seq)
  }
  return deserializeError(error)
}

/** The file's identity (device and inode), or undefined when the path names nothing. */
function fileIdentity(path: string): { dev: number; ino: number } | undefined {
  try {
    const { dev, ino } = statSync(path)
    return { dev, ino }
  } catch {
    return undefined
  }
}

/**
 * Why the store must not write the file, or undefined if it may. The permission bits count even
 * for root (which the kernel lets write anyway): a file made read-only is meant not to change.
 * The directory must be writable too (SQLite creates the -wal and -shm files there).
 */
function unwritableReason(path: string): string | undefined {
  for (const [target, what] of [
    [path, 'the database file'],
    [dirname(path), 'the directory of the database file'],
  ] as const) {
    let mode: number
    try {
      mode = statSync(target).mode
    } catch {
      continue // A new file: created by the open.
    }
    if ((mode & 0o222) === 0)
      return `${what} (${target}) is read-only (mode ${(mode & 0o777).toString(8)}).`
    try {
      accessSync(target, constants.W_OK)
    } catch {
      return `${what} (${target}) is not writable by this process.`
    }
  }
  return undefined
}
