import { type Figure, figure } from '../lib/figure.js'
import { ratioFigure } from '../lib/ratioFigure.js'
import { ratioOf } from '../lib/ratioOf.js'
import type { RequiredWork } from './measureRequiredWork.js'
import { custodialScenario, type Scenario } from './meterScenarios.js'
import { type Side, type summarise, taskStatsOf } from './summariseRuns.js'

export function scenarioFigures(
  scenario: Scenario,
  s: ReturnType<typeof summarise>,
  rounds: number,
  sqliteGroupCommits: Record<string, number>,
): Figure[] {
  const label = scenario.label
  const custodial = custodialScenario(scenario)
  // The targets are for the fast upstream; against the model-like one, information.
  const judged = scenario.app !== 'model'
  const auth = custodial
    ? 'custodial identify(req), no attestation'
    : 'fresh rma-attestation per request (ecrecover)'
  const sides = (pick: (x: Side) => number) => ({
    candidate: round3(pick(s.candidate)),
    baseline: round3(pick(s.baseline)),
  })
  const common = {
    concurrency: scenario.concurrency,
    rounds,
    auth,
    requestsPerRound: { candidate: s.candidate.requests, baseline: s.baseline.requests },
    p50Ms: sides((x) => x.p50),
    p99Ms: sides((x) => x.p99),
    serverCpuMsPerRequest: sides((x) => x.serverCpuMsPerRequest),
    serverCpuMsAddedPerRequest: round3(s.serverCpuMsAdded),
    workerCpuMsPerRequest: sides((x) => x.workerCpuMsPerRequest),
    serverEventLoopUtilization: sides((x) => x.serverElu),
    workerEventLoopUtilization: sides((x) => x.workerElu),
    sqliteGroupCommits,
  }
  const baselineLatency = (name: string, value: number) =>
    `unmetered express.json() + openaiProxy, ${name} ${fmt(value)} ms`
  const out: Figure[] = [
    ratioFigure({
      name: `metered proxy throughput (${label})`,
      candidate: taskStatsOf(s.candidate),
      baseline: taskStatsOf(s.baseline),
      baselineLabel: 'unmetered express.json() + openaiProxy, same upstream',
      opName: 'requests',
      target: judged ? 0.85 : null,
      detail: common,
    }),
    figure({
      name: `meter p50 latency added (${label})`,
      value: round3(s.p50Added),
      unit: 'ms',
      baseline: baselineLatency('p50', s.baseline.p50),
      better: 'lower',
      target: judged ? 1 : null,
      detail: common,
    }),
  ]
  if (!custodial)
    out.push(
      figure({
        name: `meter p99 latency added (${label})`,
        value: round3(s.p99Added),
        unit: 'ms',
        baseline: baselineLatency('p99', s.baseline.p99),
        better: 'lower',
        target: null,
        detail: { concurrency: scenario.concurrency, rounds, p99Ms: sides((x) => x.p99) },
      }),
    )
  if (scenario.stream && !custodial)
    out.push(
      figure({
        name: `meter p50 time to first byte added (${label})`,
        value: round3(s.firstChunkP50Added),
        unit: 'ms',
        baseline: baselineLatency('first body byte p50', s.baseline.firstChunkP50),
        better: 'lower',
        target: judged ? 1 : null,
        detail: {
          concurrency: scenario.concurrency,
          rounds,
          measuredTo: 'the first chunk of the response body (the first SSE bytes)',
          firstChunkP50Ms: sides((x) => x.firstChunkP50),
          responseHeadP50Ms: sides((x) => x.headP50),
        },
      }),
    )
  return out
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000
}

export function fmt(value: number): string {
  return value.toFixed(value < 10 ? 3 : 1)
}

/**
 * The best throughput ratio a meter doing the required work could reach in this scenario,
 * from costs measured in this run (informational). At 1 in flight the steps are in sequence
 * with the answer: verify the attestation (not for custodial calls), sign the receipt, wait for
 * its SQLite commit; the ceiling is the unmetered mean request time over that time plus them.
 * At 64 in flight the server thread is the bottleneck (event-loop utilisation near 1 on both
 * sides): the ceiling is the unmetered server CPU per request over that CPU plus verify and
 * sign, for a meter that signs and verifies on the server thread, as rmaMeter does.
 */
export function ceilingFigure(
  scenario: Scenario,
  s: ReturnType<typeof summarise>,
  required: RequiredWork,
  commitMs: number,
): Figure {
  const verifyMs = custodialScenario(scenario) ? 0 : required.verifyMs
  const serial = scenario.concurrency === 1
  const baselineMs = serial ? 1000 / s.baseline.throughput : s.baseline.serverCpuMsPerRequest
  const addedMs = verifyMs + required.signMs + (serial ? commitMs : 0)
  const ceiling = baselineMs / (baselineMs + addedMs)
  // As the throughput figure computes it: the median of the paired rounds' ratios.
  const measured = ratioOf(taskStatsOf(s.candidate), taskStatsOf(s.baseline))
  return figure({
    name: `metered proxy throughput ceiling (${scenario.label})`,
    value: round3(ceiling),
    unit: 'x',
    baseline: serial
      ? `unmetered mean request time ${fmt(baselineMs)} ms, plus verify, sign and commit`
      : `unmetered server CPU ${fmt(baselineMs)} ms per request, plus verify and sign`,
    better: 'higher',
    target: null,
    detail: {
      bound: serial ? 'latency of the steps in sequence' : 'CPU of the server thread',
      baselineMs: round3(baselineMs),
      verifyAttestationMs: round3(verifyMs),
      signReceiptMs: round3(required.signMs),
      sqliteCommitMs: serial ? round3(commitMs) : null,
      measuredRatio: round3(measured),
      measuredShareOfCeiling: round3(measured / ceiling),
    },
  })
}
