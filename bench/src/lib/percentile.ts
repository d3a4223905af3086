/**
 * The `p`-th percentile (0..100) of a non-empty list, nearest-rank on the sorted values:
 * `percentile(latencies, 50)` is the median sample, `percentile(latencies, 99)` the p99.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of an empty list')
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}
