import type { TaskStats } from './compareThroughput.js'
import { median } from './median.js'

/**
 * The median of the per-round ratios `candidate / baseline`. Pairing rounds cancels noise that
 * a ratio of two medians would keep.
 */
export function ratioOf(candidate: TaskStats, baseline: TaskStats): number {
  return median(candidate.rounds.map((rate, i) => rate / baseline.rounds[i]!))
}
