/**
 * How long the load worker's second upstream waits before it answers: a fast model's time to
 * first token (hosted models take 100 ms or more; a small local model on a GPU about this).
 */
export const modelLatencyMs = 20

/** How far apart that upstream sends its SSE frames, like a model emitting tokens. */
export const modelFrameGapMs = 2

/** One closed-loop load run, as the main thread asks the load worker for it. */
export type LoadRequest = {
  /** `http://127.0.0.1:port` of the server under test. */
  origin: string
  path: string
  /** The exact body bytes every request sends (attestations are signed over them). */
  body: string
  commonHeaders: Record<string, string>
  /**
   * A header whose value changes per request (a fresh attestation): used once each, so the
   * list caps the request count, unless `cycle` reuses it (for a server that checks nothing).
   */
  perRequestHeader?: { name: string; values: string[]; cycle?: boolean }
  /** Requests in flight at once: one connection per virtual user. */
  concurrency: number
  /** No request starts after this; the run ends when the last one is read. */
  durationMs: number
  /** No more requests than this in the run. */
  maxRequests?: number
  /** A response header every answer must have (`rma-receipt`, `rma-receipt-id`). */
  expectHeader?: string
  /** The body size every answer must have. */
  expectBytes?: number
}

export type LoadResult = {
  completed: number
  elapsedMs: number
  /** Per request: to the last body byte, to the response head, to the first body chunk. */
  latencyMs: number[]
  headMs: number[]
  firstChunkMs: number[]
  /** The first few failures (a wrong status, header or body size) and how many there were. */
  failures: string[]
  failureCount: number
  lastBodyBytes: number
  /** CPU time of the worker thread (load generator and fake upstreams) during the run. */
  workerCpuMs: number
  workerEventLoopUtilization: number
  /** Requests not sent because the per-request headers (attestations) ran out. */
  headersRanOut: boolean
}

export type ToWorker = { type: 'run'; id: number; request: LoadRequest } | { type: 'close' }

export type FromWorker =
  | { type: 'ready'; upstreamUrl: string; modelUpstreamUrl: string }
  | { type: 'result'; id: number; result: LoadResult }
  | { type: 'error'; id: number; message: string }
  | { type: 'closed' }
