import type { MessagePort } from 'node:worker_threads'

// Messages between createSqliteStore (main thread) and its writer thread (sqliteWriter.ts).
// Types only: the writer imports this file with `import type`, so it stays self-contained.

/** What the writer thread is started with (`workerData`). */
export type WriterData = {
  path: string
  /** `FULL` for a real file; `OFF` for the throwaway file behind `':memory:'`. */
  synchronous: 'FULL' | 'OFF'
  /** How long a commit waits for a write lock another connection holds before it fails. */
  busyTimeoutMs: number
  /** Expired nonces are deleted at most this often, between commits. */
  nonceSweepIntervalMs: number
  /** The writer's end of the channel: requests in, replies out. */
  port: MessagePort
}

/**
 * A receipt row as sent to the writer, in the column order of the INSERT (a tuple clones
 * faster than an object): id, hash, asset_id, meter, user, seq, timestamp, cumulative_amount,
 * receipt.
 */
export type RowTuple = [string, string, string, string, string, number, number, string, string]

/** A write the main thread asks for. Requests waiting together share one transaction. */
export type WriterRequest =
  | { id: number; kind: 'append'; rows: RowTuple[] }
  /** Stored only if it names a stored receipt (hash, asset, meter, user, seq). */
  | {
      id: number
      kind: 'ack'
      hash: string
      assetId: string
      meter: string
      user: string
      seq: number
      /** Decimal text: the ack must name the receipt's cumulative amount too. */
      cumulativeAmount: string
      ack: string
    }
  | { id: number; kind: 'settle'; assetId: string; epoch: number; hashes: string[] }
  /** `create`: insert only (compare-and-set); else upsert. */
  | { id: number; kind: 'batch'; create: boolean; values: (string | number | null)[] }
  /** The nonce as decimal text (a uint256). */
  | { id: number; kind: 'nonce'; assetId: string; user: string; nonce: string; keepUntil: number }
  /** A real write and commit, to prove the file can be written right now. */
  | { id: number; kind: 'probe' }
  /** Checkpoint, close the connection and exit (sent once, after every other request). */
  | { id: number; kind: 'close' }

/**
 * An error crossing the thread boundary (the class does not survive structured cloning). The
 * writer's own refusals (file removed or replaced) carry code `STORE_UNAVAILABLE`.
 */
export type SerializedError = { name: string; message: string; code?: string | undefined }

/** Per row of an append: stored (null), dropped (an earlier row of its chain failed), or failed. */
export type RowOutcome = null | 'reset' | SerializedError

export type WriterReply =
  /** The request failed as a whole: its transaction was rolled back. */
  | { id: number; error: SerializedError }
  | { id: number; kind: 'append'; outcomes: RowOutcome[]; durationMs: number }
  /** `settled` false: nothing changed; `found` holds [hash, assetId, epoch] of each known hash. */
  | {
      id: number
      kind: 'settle'
      settled: boolean
      found: [hash: string, assetId: string, epoch: number | null][]
    }
  | { id: number; kind: 'done' }
  /** `changed` false: an ack naming no stored receipt, a batch epoch taken, a nonce claimed. */
  | { id: number; kind: 'changed'; changed: boolean }
