import type { TaskStats } from '../lib/compareThroughput.js'
import { median } from '../lib/median.js'
import { percentile } from '../lib/percentile.js'
import type { ServerLoadResult } from './startLoadWorker.js'

export function throughputOf(result: ServerLoadResult): number {
  return (result.completed / result.elapsedMs) * 1000
}

export type Side = {
  throughput: number
  rates: number[]
  p50: number
  p99: number
  firstChunkP50: number
  headP50: number
  serverCpuMsPerRequest: number
  workerCpuMsPerRequest: number
  serverElu: number
  workerElu: number
  requests: number[]
}

export function side(results: ServerLoadResult[]): Side & { perRound: ServerLoadResult[] } {
  const rates = results.map(throughputOf)
  const of = (f: (r: ServerLoadResult) => number) => median(results.map(f))
  return {
    throughput: median(rates),
    rates,
    p50: of((r) => percentile(r.latencyMs, 50)),
    p99: of((r) => percentile(r.latencyMs, 99)),
    firstChunkP50: of((r) => percentile(r.firstChunkMs, 50)),
    headP50: of((r) => percentile(r.headMs, 50)),
    serverCpuMsPerRequest: of((r) => r.serverCpuMs / r.completed),
    workerCpuMsPerRequest: of((r) => r.workerCpuMs / r.completed),
    serverElu: of((r) => r.serverEventLoopUtilization),
    workerElu: of((r) => r.workerEventLoopUtilization),
    requests: results.map((r) => r.completed),
    perRound: results,
  }
}

/** A side's rates as `ratioFigure` and `ratioOf` take them (one rate per round). */
export function taskStatsOf(x: Side): TaskStats {
  return { opsPerSecond: x.throughput, rounds: x.rates }
}

export function summarise(candidate: ServerLoadResult[], baseline: ServerLoadResult[]) {
  const c = side(candidate)
  const b = side(baseline)
  /** The median over rounds of (candidate - baseline), each round's pair measured back to back. */
  const added = (f: (r: ServerLoadResult) => number) =>
    median(candidate.map((r, i) => f(r) - f(baseline[i]!)))
  return {
    candidate: c,
    baseline: b,
    p50Added: added((r) => percentile(r.latencyMs, 50)),
    p99Added: added((r) => percentile(r.latencyMs, 99)),
    firstChunkP50Added: added((r) => percentile(r.firstChunkMs, 50)),
    serverCpuMsAdded: added((r) => r.serverCpuMs / r.completed),
  }
}
