import type { Figure } from './figure.js'

/**
 * The figures as an aligned text table: name, value, the spread of its rounds (min–max, for a
 * figure of paired rounds), target, pass (`info` without a target).
 */
export function formatTable(figures: readonly Figure[]): string {
  const rows = [
    ['figure', 'value', 'rounds min–max', 'target', 'pass'],
    ...figures.map((f) => [
      f.name,
      `${format(f.value)} ${f.unit}`,
      spreadOf(f),
      f.target === null
        ? '-'
        : `${f.better === 'higher' ? '>=' : '<='} ${format(f.target)} ${f.unit}`,
      f.pass === null ? 'info' : f.pass ? 'PASS' : 'FAIL',
    ]),
  ]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  const line = (row: string[]) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[column]!),
      )
      .join('  ')
  const rule = widths.map((width) => '-'.repeat(width)).join('  ')
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n')
}

function format(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 3 })
}

function spreadOf(f: Figure): string {
  const spread = f.detail?.spread
  if (!Array.isArray(spread) || spread.length !== 2) return '-'
  return `${format(spread[0] as number)}–${format(spread[1] as number)}`
}
