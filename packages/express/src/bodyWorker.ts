// A thread of createBodyWorkerPool: hashes and parses large request bodies, so the server's
// thread never walks 8 MiB of JSON. It answers with the hash and the few top-level members the
// meter reads, never the parsed body (a clone of it would cost the server thread as much).
//
// Self-contained on purpose: it runs from dist (built next to index.js / index.cjs) and, in this
// repository's tests, straight from source (Node strips the types), so it imports nothing of the
// package at runtime, only types; the hash is @rma/core's `hashBytes`, the rule used everywhere.
import { parentPort, workerData } from 'node:worker_threads'
import { hashBytes, readyHashBackend } from '@rma/core'
import type { BodyJob, BodyJobResult, BodyWorkerData } from './internal/bodyWorkerProtocol.js'

const { fieldNames } = workerData as BodyWorkerData
const port = parentPort
if (!port) throw new Error('bodyWorker runs as a worker thread')
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
// The WebAssembly hasher, loading (no top-level await: the CommonJS build has none).
const ready = readyHashBackend()

port.on('message', async (job: BodyJob) => {
  await ready
  const started = performance.now()
  const bytes = new Uint8Array(job.buffer, 0, job.length)
  const hash = hashBytes(bytes)
  let fields: Record<string, unknown> | undefined
  try {
    const body: unknown = JSON.parse(decoder.decode(bytes))
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      fields = {}
      for (const name of fieldNames)
        if (Object.hasOwn(body, name)) fields[name] = (body as Record<string, unknown>)[name]
    }
  } catch {
    fields = undefined
  }
  const result: BodyJobResult = {
    id: job.id,
    buffer: job.buffer,
    hash,
    fields,
    busyMs: performance.now() - started,
  }
  port.postMessage(result, [job.buffer])
})
