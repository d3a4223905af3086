import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { MeterError, type ProcessedBody, type RequestFields, requestFieldNames } from '@rma/meter'
import type { BodyJob, BodyJobResult, BodyWorkerData } from './internal/bodyWorkerProtocol.js'

export type BodyWorkerPoolOptions = {
  /** Threads at most (default: half the CPUs, at least 1, at most 4). */
  size?: number
}

export type { ProcessedBody }

export type BodyWorkerPool = {
  /**
   * Hashes and parses `raw` on a thread of the pool (queued while all are busy). `raw` is moved
   * there and back, not copied: it must not be used until the promise settles (use the
   * returned `raw`). Rejects with {@link MeterError} 503 `rma_body_worker_failed` when the
   * thread dies on it (the next body gets a new thread).
   */
  process(raw: Buffer): Promise<ProcessedBody>
  /** Threads started and alive now (for tests). */
  threads(): readonly Worker[]
  /** Ends every thread; pending bodies are rejected. */
  close(): Promise<void>
}

type Job = {
  id: number
  raw: Buffer
  length: number
  resolve: (body: ProcessedBody) => void
  reject: (error: unknown) => void
}

type Thread = { worker: Worker; job: Job | undefined }

/**
 * A small pool of threads that hash and parse large request bodies, one body per thread at a
 * time, first come first served. Threads start on first use; idle ones do not keep the process
 * alive.
 * The thread answers only the hash and the {@link requestFieldNames} members, so the server
 * thread never parses or clones the body; the bytes travel as a transferred buffer.
 *
 * @example
 * const pool = createBodyWorkerPool({ size: 1 })
 * const { raw, hash, fields } = await pool.process(body)
 */
export function createBodyWorkerPool(options: BodyWorkerPoolOptions = {}): BodyWorkerPool {
  const size = options.size ?? Math.min(4, Math.max(1, Math.floor(availableParallelism() / 2)))
  const threads: Thread[] = []
  const queue: Job[] = []
  let nextId = 0
  let closed = false

  const start = (): Thread => {
    const data: BodyWorkerData = { fieldNames: requestFieldNames }
    // No `resourceLimits`: a thread that reaches its heap limit can take the whole process
    // down as it is torn down (seen with Node 24), so a body is parsed with the same heap as on
    // the server thread; `maxBodyBytes` bounds it.
    const worker = new Worker(workerScript(), { workerData: data, stdout: false, stderr: false })
    const thread: Thread = { worker, job: undefined }
    worker.on('message', (result: BodyJobResult) => {
      const job = thread.job
      if (!job || job.id !== result.id) return
      thread.job = undefined
      worker.unref()
      job.resolve({
        // The buffer comes back whole; the body is its first `length` bytes.
        raw: Buffer.from(result.buffer, 0, job.length),
        hash: result.hash,
        fields: result.fields as RequestFields | undefined,
        busyMs: result.busyMs,
      })
      pump()
    })
    const die = (error?: unknown) => {
      const index = threads.indexOf(thread)
      if (index === -1) return
      threads.splice(index, 1)
      const job = thread.job
      thread.job = undefined
      job?.reject(workerFailed(error))
      pump()
    }
    worker.on('error', die)
    worker.on('exit', () => die())
    // Idle threads do not keep the process alive (a busy one does: see pump). After the
    // listeners: adding a 'message' listener refs the worker again.
    worker.unref()
    threads.push(thread)
    return thread
  }

  const pump = () => {
    while (queue.length > 0 && !closed) {
      let thread = threads.find((t) => t.job === undefined)
      if (!thread && threads.length < size)
        try {
          thread = start()
        } catch (error) {
          // No thread can start (its script is missing): the body fails, closed.
          queue.shift()!.reject(error)
          continue
        }
      if (!thread) return
      const job = queue.shift()!
      thread.job = job
      thread.worker.ref()
      const message: BodyJob = { id: job.id, buffer: ownBuffer(job.raw), length: job.length }
      thread.worker.postMessage(message, [message.buffer])
    }
  }

  return {
    process(raw) {
      if (closed) return Promise.reject(workerFailed(new Error('the pool is closed')))
      return new Promise<ProcessedBody>((resolve, reject) => {
        queue.push({ id: ++nextId, raw, length: raw.length, resolve, reject })
        pump()
      })
    },
    threads: () => threads.map((t) => t.worker),
    async close() {
      closed = true
      for (const job of queue.splice(0)) job.reject(workerFailed(new Error('the pool is closed')))
      await Promise.all(threads.map((t) => t.worker.terminate()))
    },
  }
}

/** `raw`'s bytes in an ArrayBuffer of their own that can be transferred (a copy only if shared). */
function ownBuffer(raw: Buffer): ArrayBuffer {
  const buffer = raw.buffer
  if (buffer instanceof ArrayBuffer && raw.byteOffset === 0 && buffer.byteLength === raw.length)
    return buffer
  const copy = new ArrayBuffer(raw.length)
  new Uint8Array(copy).set(raw)
  return copy
}

function workerFailed(cause: unknown): MeterError {
  return new MeterError({
    status: 503,
    type: 'server_error',
    code: 'rma_body_worker_failed',
    message: 'The request body could not be processed; nothing was forwarded or charged.',
    cause,
  })
}

/**
 * The thread's script, next to this module: `bodyWorker.js` / `.cjs` beside `dist/index.js` /
 * `index.cjs` (one folder up from `dist/testing/index.cjs`, whose CommonJS build inlines this
 * module), `bodyWorker.ts` beside this file when run from source.
 */
function workerScript(): URL {
  const here = import.meta.url
  const extension = /\.[cm]?[jt]s$/.exec(new URL(here).pathname)?.[0] ?? '.js'
  const candidates = [`./bodyWorker${extension}`, `../bodyWorker${extension}`].map(
    (path) => new URL(path, here),
  )
  const script = candidates.find((url) => existsSync(fileURLToPath(url)))
  if (!script)
    throw workerFailed(
      new Error(
        `${fileURLToPath(candidates[0]!)} is missing: ship @rma/express's dist folder whole (a bundler that inlines @rma/express must copy dist/bodyWorker.js next to the bundle).`,
      ),
    )
  return script
}
