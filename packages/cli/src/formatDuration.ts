/**
 * A number of seconds as a short duration for people: `1d 0h 0m`, `5h 59m`, `4m 10s`, `12s`.
 *
 * @example
 * formatDuration(21_598) // '5h 59m'
 */
export function formatDuration(seconds: number | bigint): string {
  let s = Math.max(0, Number(seconds))
  const d = Math.floor(s / 86_400)
  s -= d * 86_400
  const h = Math.floor(s / 3_600)
  s -= h * 3_600
  const m = Math.floor(s / 60)
  s -= m * 60
  if (d > 0) return `${d}d ${h}h ${m}m`
  if (h > 0) return `${h}h ${m}m`
  if (m > 0) return `${m}m ${s}s`
  return `${s}s`
}
