// Messages between createBodyWorkerPool (main thread) and its threads (bodyWorker.ts).
// Types only: the worker imports this file with `import type`, so it stays self-contained.

/** What a body thread is started with (`workerData`). */
export type BodyWorkerData = {
  /** The top-level members of the body sent back (`requestFieldNames`). */
  fieldNames: readonly string[]
}

/** One body to hash and parse; its bytes are transferred, not copied. */
export type BodyJob = { id: number; buffer: ArrayBuffer; length: number }

/** The answer to a {@link BodyJob}; the bytes come back transferred. */
export type BodyJobResult = {
  id: number
  buffer: ArrayBuffer
  /** keccak256 of the bytes, as 0x-hex. */
  hash: `0x${string}`
  /** The named top-level members, or undefined when the bytes are not a JSON object. */
  fields: Record<string, unknown> | undefined
  /** Milliseconds the thread spent on the job (hashing, decoding, parsing). */
  busyMs: number
}
