import { parseSettlementError } from '@rma/contracts'
import type { DecodedRevert } from './errors.js'

/**
 * Decodes why the chain refused a call: the settlement contract's errors and the token errors a
 * transfer inside it bubbles up, through `parseSettlementError` of @rma/contracts, as a sentence
 * a newcomer can act on. `names` names accounts in it (`{ [settler]: 'the settler' }`).
 * `undefined` when the error carries no revert data (a network failure, a timeout).
 *
 * @example
 * decodeRevert(error, { [settler]: 'the settler' })
 * // { name: 'ERC20InsufficientBalance', reason: 'the settler holds 0 of 513 needed' }
 */
export function decodeRevert(
  error: unknown,
  names: Record<string, string> = {},
): DecodedRevert | undefined {
  const parsed = parseSettlementError(error, { names })
  return parsed ? { name: parsed.name, reason: parsed.message } : undefined
}
