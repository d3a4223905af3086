import type { TaskStats } from './compareThroughput.js'
import { type Figure, figure } from './figure.js'
import { formatRate } from './formatRate.js'
import { ratioOf } from './ratioOf.js'

export type RatioFigureParameters = {
  name: string
  candidate: TaskStats
  baseline: TaskStats
  /** What the baseline is, without its rate (appended here). */
  baselineLabel: string
  /** What one operation is, for the rates: `receipts`, `signatures`. */
  opName: string
  /** null for an informational figure. */
  target: number | null
  better?: 'higher' | 'lower'
  detail?: Record<string, unknown>
}

/**
 * A throughput figure: the candidate's rate over the baseline's, as the median of paired
 * rounds, with both raw rates kept in `detail`.
 *
 * @example
 * ratioFigure({ name: 'receipts hashed per second', candidate, baseline, baselineLabel: 'ethers', opName: 'receipts', target: 10 })
 */
export function ratioFigure(parameters: RatioFigureParameters): Figure {
  const { candidate, baseline, opName } = parameters
  const built = figure({
    name: parameters.name,
    value: ratioOf(candidate, baseline),
    unit: 'x',
    baseline: `${parameters.baselineLabel} (${formatRate(baseline.opsPerSecond, opName)})`,
    better: parameters.better ?? 'higher',
    target: parameters.target,
    detail: {
      candidateOpsPerSecond: Math.round(candidate.opsPerSecond),
      baselineOpsPerSecond: Math.round(baseline.opsPerSecond),
      spread: spreadOf(candidate, baseline),
      candidateRounds: candidate.rounds.map(Math.round),
      baselineRounds: baseline.rounds.map(Math.round),
      ...parameters.detail,
    },
  })
  // `pass` was decided on the exact ratio; the rounding is for reading only.
  return { ...built, value: Math.round(built.value * 1000) / 1000 }
}

/** The smallest and largest per-round ratio, rounded for reading. */
function spreadOf(candidate: TaskStats, baseline: TaskStats): [number, number] {
  const ratios = candidate.rounds.map((rate, i) => rate / baseline.rounds[i]!)
  const round = (x: number) => Math.round(x * 1000) / 1000
  return [round(Math.min(...ratios)), round(Math.max(...ratios))]
}
