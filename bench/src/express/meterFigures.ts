import type { Figure } from '../lib/figure.js'
import { pairedFigure } from '../lib/pairedFigure.js'
import type { Scenario } from './meterScenarios.js'
import type { ServerKind } from './serverKinds.js'
import {
  cpuPerCallMs,
  firstChunkP50Of,
  p50Of,
  perRound,
  type SideRun,
  sideSummary,
  throughputOf,
} from './summariseRuns.js'

const described: Record<ServerKind, string> = {
  metered: 'rmaMeter + rmaRouter + openaiProxy (SQLite, fsync)',
  unmetered: 'unmetered express.json() + openaiProxy',
  passthrough: 'minimal node:http pass-through',
  portkey: "Portkey's gateway (@portkey-ai/gateway)",
}

/**
 * The figures of one scenario, each a ratio or a difference of two servers measured in the
 * same rounds (the median over rounds, with the rounds' spread):
 * - metered / Portkey throughput (fast upstream, c>1; target 1.0) and metered / unmetered
 *   throughput (target 0.9 against the model-like upstream, informational otherwise);
 * - at c=1 only, p50 latency added over unmetered, for metered (target 0.5 ms) and Portkey, and
 *   metered's minus Portkey's (target 0.35 ms);
 * - where the pass-through runs (c=64), server CPU per call of the whole process: metered /
 *   unmetered (target 1.3), unmetered / pass-through (target 1.5), Portkey / unmetered.
 */
export function scenarioFigures(
  scenario: Scenario,
  runs: Partial<Record<ServerKind, SideRun[]>>,
  rounds: number,
): Figure[] {
  const label = scenario.label
  const has = (kind: ServerKind) => scenario.sides.includes(kind)
  const metered = runs.metered!
  const unmetered = runs.unmetered!
  const detail = {
    concurrency: scenario.concurrency,
    rounds,
    sides: Object.fromEntries(
      Object.entries(runs).map(([kind, sideRuns]) => [kind, sideSummary(sideRuns)]),
    ),
  }
  const ratio = (a: SideRun[], b: SideRun[], f: (r: SideRun) => number) =>
    perRound(a, b, (x, y) => f(x) / f(y))
  const added = (a: SideRun[], f: (r: SideRun) => number) =>
    perRound(a, unmetered, (x, y) => f(x) - f(y))
  const out: Figure[] = []

  if (has('portkey') && scenario.concurrency > 1)
    out.push(
      pairedFigure({
        name: `metered / Portkey throughput (${label})`,
        perRound: ratio(metered, runs.portkey!, throughputOf),
        unit: 'x',
        baseline: `${described.portkey}, same upstream and load`,
        better: 'higher',
        target: 1,
        detail,
      }),
    )
  out.push(
    pairedFigure({
      name: `metered / unmetered throughput (${label})`,
      perRound: ratio(metered, unmetered, throughputOf),
      unit: 'x',
      baseline: described.unmetered,
      better: 'higher',
      target: scenario.upstream === 'model' ? 0.9 : null,
      detail,
    }),
  )

  // Latency is judged at 1 in flight only: at 16 or 64 it restates the throughput (queueing).
  if (scenario.concurrency === 1) {
    const to = scenario.stream ? 'to the last byte' : ''
    const meteredAdded = added(metered, p50Of)
    out.push(
      pairedFigure({
        name: `meter p50 latency added ${to} (${label})`.replace('  ', ' '),
        perRound: meteredAdded,
        unit: 'ms',
        baseline: described.unmetered,
        better: 'lower',
        target: 0.5,
        detail,
      }),
    )
    if (has('portkey')) {
      const portkeyAdded = added(runs.portkey!, p50Of)
      out.push(
        pairedFigure({
          name: `Portkey p50 latency added ${to} (${label})`.replace('  ', ' '),
          perRound: portkeyAdded,
          unit: 'ms',
          baseline: described.unmetered,
          better: 'lower',
          target: null,
          detail,
        }),
        pairedFigure({
          name: `meter p50 latency added minus Portkey's (${label})`,
          perRound: meteredAdded.map((m, i) => m - portkeyAdded[i]!),
          unit: 'ms',
          baseline: 'Portkey p50 latency added over unmetered, same rounds',
          better: 'lower',
          target: 0.35,
          detail,
        }),
      )
    }
    if (scenario.stream)
      for (const kind of ['metered', 'portkey'] as const)
        if (has(kind))
          out.push(
            pairedFigure({
              name: `${kind === 'metered' ? 'meter' : 'Portkey'} p50 time to first byte added (${label})`,
              perRound: added(runs[kind]!, firstChunkP50Of),
              unit: 'ms',
              baseline: `${described.unmetered}, first body chunk`,
              better: 'lower',
              target: null,
              detail,
            }),
          )
  }

  if (has('passthrough')) {
    out.push(
      pairedFigure({
        name: `server CPU per call, metered / unmetered (${label})`,
        perRound: ratio(metered, unmetered, cpuPerCallMs),
        unit: 'x',
        baseline: `${described.unmetered}, whole process CPU per call`,
        better: 'lower',
        target: 1.3,
        detail,
      }),
      pairedFigure({
        name: `server CPU per call, unmetered openaiProxy / node:http pass-through (${label})`,
        perRound: ratio(unmetered, runs.passthrough!, cpuPerCallMs),
        unit: 'x',
        baseline: `${described.passthrough}, whole process CPU per call`,
        better: 'lower',
        target: 1.5,
        detail,
      }),
    )
    if (has('portkey'))
      out.push(
        pairedFigure({
          name: `server CPU per call, Portkey / unmetered (${label})`,
          perRound: ratio(runs.portkey!, unmetered, cpuPerCallMs),
          unit: 'x',
          baseline: `${described.unmetered}, whole process CPU per call`,
          better: 'lower',
          target: null,
          detail,
        }),
      )
  }
  return out
}
