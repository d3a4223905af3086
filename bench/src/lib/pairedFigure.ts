import type { Better, Figure } from './figure.js'
import { figure } from './figure.js'
import { median } from './median.js'

export type PairedFigureParameters = {
  name: string
  /** One value per round: a ratio or a difference of two sides measured in that round. */
  perRound: readonly number[]
  unit: string
  baseline: string
  better: Better
  target: number | null
  detail?: Record<string, unknown>
}

/**
 * A figure from paired rounds: its value is the median of the per-round values, and
 * `detail.spread` their min and max (shown beside the value in the table), so a run shows how
 * far the rounds agree.
 */
export function pairedFigure(parameters: PairedFigureParameters): Figure {
  const { perRound } = parameters
  const round = (x: number) => Math.round(x * 1000) / 1000
  const built = figure({
    name: parameters.name,
    value: median([...perRound]),
    unit: parameters.unit,
    baseline: parameters.baseline,
    better: parameters.better,
    target: parameters.target,
    detail: {
      spread: [round(Math.min(...perRound)), round(Math.max(...perRound))],
      perRound: perRound.map(round),
      ...parameters.detail,
    },
  })
  return { ...built, value: round(built.value) }
}
