/** Which direction of a figure is an improvement. */
export type Better = 'higher' | 'lower'

/** One line of `results.json`: a ratio against a baseline of the same run, or a count. */
export type Figure = {
  name: string
  value: number
  /** `x` for ratios; the counted thing otherwise (`gas`, `gas/call`, ...). */
  unit: string
  /** What the value is compared with, including its measured rate; null for a plain count. */
  baseline: string | null
  better: Better
  /** The value to meet; null for an informational figure, reported but never judged. */
  target: number | null
  /** Whether `value` meets `target` in the `better` direction; null when there is no target. */
  pass: boolean | null
  /** Raw measurements behind the value (rates in ops/s, sample sizes, versions). */
  detail?: Record<string, unknown>
}

export type FigureInput = Omit<Figure, 'pass'>

/**
 * Builds a figure and decides `pass` from its value, target and direction.
 *
 * @example
 * figure({ name: 'settle gas', value: 74_210, unit: 'gas', baseline: null, better: 'lower', target: 80_000 })
 */
export function figure(input: FigureInput): Figure {
  const { target } = input
  const pass =
    target === null
      ? null
      : input.better === 'higher'
        ? input.value >= target
        : input.value <= target
  const { detail, ...rest } = input
  return detail === undefined ? { ...rest, pass } : { ...rest, pass, detail }
}
