/** A rate for people: `12,345 receipts/s`. */
export function formatRate(opsPerSecond: number, opName: string): string {
  return `${Math.round(opsPerSecond).toLocaleString('en-US')} ${opName}/s`
}
