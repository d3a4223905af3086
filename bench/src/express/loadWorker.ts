import { performance } from 'node:perf_hooks'
import { parentPort } from 'node:worker_threads'
import { createFakeUpstream } from '@rma/express/testing'
import { Pool } from 'undici'
import { createPacedUpstream } from './createPacedUpstream.js'
import {
  type LoadRequest,
  type LoadResult,
  modelFrameGapMs,
  modelLatencyMs,
  type ToWorker,
} from './loadProtocol.js'

// A worker thread with its own event loop: the fake OpenAI upstream and a closed-loop load
// generator. The servers under test run on the main thread, so their event loop does nothing
// but serve; on 2 cores this worker gets the other core. See meterOverhead.bench.ts.

const port = parentPort
if (!port) throw new Error('loadWorker.ts runs as a worker thread')

const upstream = await createFakeUpstream()
// The same answers paced like a model's: a time to first token, then SSE frames apart.
const modelUpstream = await createPacedUpstream(upstream.url, {
  latencyMs: modelLatencyMs,
  frameGapMs: modelFrameGapMs,
})
const pools = new Set<Pool>()

/**
 * A pool of its own per run, closed at its end: no connection sits idle between runs, where a
 * server's keep-alive timeout could close it as the next run reuses it (a reset POST).
 */
function newPool(origin: string, connections: number): Pool {
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 })
  pools.add(pool)
  return pool
}

/**
 * `concurrency` virtual users, each sending its next request as soon as the previous one has
 * been read to the end, until `durationMs` has passed or `headers` is used up. Every request
 * is timed: total latency, time to the response head, time to the first body chunk.
 */
async function run(request: LoadRequest): Promise<LoadResult> {
  const pool = newPool(request.origin, request.concurrency)
  const { perRequestHeader, commonHeaders, body, path, expectHeader, expectBytes } = request
  const limit = Math.min(
    request.maxRequests ?? Number.POSITIVE_INFINITY,
    perRequestHeader && !perRequestHeader.cycle
      ? perRequestHeader.values.length
      : Number.POSITIVE_INFINITY,
  )
  const latencyMs: number[] = []
  const headMs: number[] = []
  const firstChunkMs: number[] = []
  const failures: string[] = []
  let next = 0
  let bytes = -1
  const cpuBefore = process.threadCpuUsage()
  const eluBefore = performance.eventLoopUtilization()
  const started = performance.now()
  const deadline = started + request.durationMs

  const one = async (index: number) => {
    const headers: Record<string, string> = { ...commonHeaders }
    if (perRequestHeader) {
      const { name, values } = perRequestHeader
      headers[name] = values[index % values.length]!
    }
    const t0 = performance.now()
    const response = await pool.request({ path, method: 'POST', headers, body })
    const t1 = performance.now()
    let first = 0
    let size = 0
    await new Promise<void>((resolve, reject) => {
      response.body.on('data', (chunk: Buffer) => {
        if (size === 0) first = performance.now()
        size += chunk.length
      })
      response.body.on('end', resolve)
      response.body.on('error', reject)
    })
    const t2 = performance.now()
    latencyMs.push(t2 - t0)
    headMs.push(t1 - t0)
    firstChunkMs.push((first || t2) - t0)
    if (response.statusCode !== 200) failures.push(`status ${response.statusCode}`)
    else if (expectHeader && response.headers[expectHeader] === undefined)
      failures.push(`no ${expectHeader} header`)
    else if (expectBytes !== undefined && size !== expectBytes)
      failures.push(`${size} body bytes, expected ${expectBytes}`)
    bytes = size
  }

  let ranOut = false
  const virtualUser = async () => {
    for (;;) {
      if (performance.now() >= deadline) return
      if (next >= limit) {
        ranOut ||= limit < (request.maxRequests ?? Number.POSITIVE_INFINITY)
        return
      }
      await one(next++)
    }
  }
  try {
    await Promise.all(Array.from({ length: request.concurrency }, virtualUser))
  } finally {
    pools.delete(pool)
    void pool.close()
  }
  const elapsedMs = performance.now() - started
  const cpu = process.threadCpuUsage(cpuBefore)
  const elu = performance.eventLoopUtilization(eluBefore)
  // The fake upstream keeps every request it saw; a benchmark sends tens of thousands.
  upstream.requests.length = 0
  return {
    completed: latencyMs.length,
    elapsedMs,
    latencyMs,
    headMs,
    firstChunkMs,
    failures: failures.slice(0, 5),
    failureCount: failures.length,
    lastBodyBytes: bytes,
    workerCpuMs: (cpu.user + cpu.system) / 1000,
    workerEventLoopUtilization: elu.utilization,
    headersRanOut: ranOut,
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'close') {
    void Promise.all([...pools.values()].map((pool) => pool.close()))
      .then(() => Promise.all([upstream.close(), modelUpstream.close()]))
      .then(() => port.postMessage({ type: 'closed' }))
    return
  }
  run(message.request).then(
    (result) => port.postMessage({ type: 'result', id: message.id, result }),
    (error: unknown) =>
      port.postMessage({
        type: 'error',
        id: message.id,
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }),
  )
})
port.postMessage({ type: 'ready', upstreamUrl: upstream.url, modelUpstreamUrl: modelUpstream.url })
