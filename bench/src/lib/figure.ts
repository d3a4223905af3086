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
  target: number
  /** Whether `value` meets `target` in the `better` direction. */
  pass: boolean
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
  const pass = input.better === 'higher' ? input.value >= input.target : input.value <= input.target
  const { detail, ...rest } = input
  return detail === undefined ? { ...rest, pass } : { ...rest, pass, detail }
}
