import { median } from '../lib/median.js'
import { percentile } from '../lib/percentile.js'
import type { LoadResult } from './loadProtocol.js'

/** One timed run of one server: the load generator's result and the server process's CPU. */
export type SideRun = LoadResult & {
  /** CPU time of the server's whole process (every thread) during the run, in ms. */
  serverCpuMs: number
}

export function throughputOf(run: LoadResult): number {
  return (run.completed / run.elapsedMs) * 1000
}

export function cpuPerCallMs(run: SideRun): number {
  return run.serverCpuMs / run.completed
}

export function p50Of(run: LoadResult): number {
  return percentile(run.latencyMs, 50)
}

export function firstChunkP50Of(run: LoadResult): number {
  return percentile(run.firstChunkMs, 50)
}

/** `f(a, b)` of the two sides' runs of each round (measured back to back in that round). */
export function perRound(
  a: readonly SideRun[],
  b: readonly SideRun[],
  f: (a: SideRun, b: SideRun) => number,
): number[] {
  return a.map((run, i) => f(run, b[i]!))
}

/** A side's medians over its rounds, for `detail`. */
export function sideSummary(runs: readonly SideRun[]) {
  const of = (f: (r: SideRun) => number) => Math.round(median(runs.map(f)) * 1000) / 1000
  return {
    requestsPerSecond: of(throughputOf),
    p50Ms: of(p50Of),
    p99Ms: of((r) => percentile(r.latencyMs, 99)),
    firstChunkP50Ms: of(firstChunkP50Of),
    serverCpuMsPerCall: of(cpuPerCallMs),
    workerCpuMsPerCall: of((r) => r.workerCpuMs / r.completed),
    workerEventLoopUtilization: of((r) => r.workerEventLoopUtilization),
    requestsPerRound: runs.map((r) => r.completed),
  }
}
