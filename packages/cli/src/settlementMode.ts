import { CliError } from './CliError.js'
import type { CommandOption } from './Command.js'

/** How an asset is settled: the settler pays each batch in (`postpaid`), or users' prepaid balances pay (`prepaid`). */
export type SettlementMode = 'postpaid' | 'prepaid'

/** `--mode`, defaulting to `RMA_SETTLEMENT_MODE`: what `settle` runs and what `doctor` checks. */
export const settlementModeOption = {
  type: 'string',
  env: 'RMA_SETTLEMENT_MODE',
  value: 'postpaid|prepaid',
  description:
    "postpaid (default: the settler pays each batch in) or prepaid (users' balances pay)",
} satisfies CommandOption

/**
 * The settlement mode from `--mode` or `RMA_SETTLEMENT_MODE` (default `postpaid`); anything
 * else is a one-line usage error.
 *
 * @example
 * const mode = readSettlementMode(context.options) // 'prepaid'
 */
export function readSettlementMode(options: Record<string, unknown>): SettlementMode {
  const value = options.mode
  if (value === undefined || value === '') return 'postpaid'
  if (value === 'postpaid' || value === 'prepaid') return value
  throw new CliError({
    code: 'USAGE',
    shortMessage: `--mode or RMA_SETTLEMENT_MODE must be postpaid or prepaid, not "${String(value)}".`,
  })
}
