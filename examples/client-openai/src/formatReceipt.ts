import type { ReceiptRecord } from '@rma/client'

/**
 * One line per verified receipt: what was charged, for which tokens, and what the client checked.
 *
 * @example
 * client.rma.events.on('receipt', (record) => console.log(formatReceipt(record)))
 */
export function formatReceipt(record: ReceiptRecord, kind?: 'json' | 'stream'): string {
  const r = record.receipt
  const { usage, response, price } = record.checks
  return [
    `receipt ✓ ${kind ? `${kind.padEnd(6)} ` : ''}user ${r.user.slice(0, 10)}… seq ${r.seq}`,
    `${r.model}: ${r.inputTokens} in${r.cachedInputTokens ? ` (${r.cachedInputTokens} cached)` : ''} / ${r.outputTokens} out tokens (${r.usageSource})`,
    `amount ${r.amount}`,
    `checks: usage ${usage}, response ${response}, price ${price}, signature ✓ by meter ${r.meter.slice(0, 10)}…`,
  ].join(' · ')
}
