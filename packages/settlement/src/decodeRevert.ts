import { parseSettlementError } from '@rma/contracts'
import { Interface, type Result } from 'ethers'
import type { DecodedRevert } from './errors.js'

// A settle pays the revenue in with the token's transferFrom, whose OpenZeppelin errors
// bubble up through the settlement contract; they are not in its ABI.
const tokenErrors = new Interface([
  'error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)',
  'error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)',
  'error Error(string message)',
])

const sentences: Record<string, (args: Result) => string> = {
  ERC20InsufficientBalance: (a) => `the settler holds ${a[1]} of ${a[2]} needed`,
  ERC20InsufficientAllowance: (a) =>
    `the settler's allowance to the contract is ${a[1]} of ${a[2]} needed`,
  NoActiveStake: () => 'no active stake: a supporter must stake before the first settlement',
  NotSettler: () => "the signer is not the asset's settler",
  UnknownAsset: () => 'the asset is not registered on this contract',
  BadEpoch: (a) => `the chain expects epoch ${a[0]} next`,
  ZeroAmount: () => 'the amount is zero',
  InvalidProof: () => 'the proof does not match the root of that epoch',
  NothingToClaim: () => 'nothing is left to claim',
  AlreadyClaimed: () => 'this rebate was already claimed',
  RebatesExceedFunded: () => "the rebates exceed what the epoch's users' share funded",
  Error: (a) => String(a[0]),
}

/**
 * Decodes why the chain refused a call: the settlement contract's custom errors (through
 * `parseSettlementError` of @rma/contracts) and the token errors a settle bubbles up, as a
 * sentence a newcomer can act on. `undefined` when the error carries no revert data (a
 * network failure, a timeout).
 *
 * @example
 * decodeRevert(error) // { name: 'ERC20InsufficientBalance', reason: 'the settler holds 0 of 513 needed' }
 */
export function decodeRevert(error: unknown): DecodedRevert | undefined {
  const parsed = parseSettlementError(error) ?? parseTokenError(error)
  if (!parsed) return undefined
  const sentence = sentences[parsed.name]
  return {
    name: parsed.name,
    reason: sentence ? sentence(parsed.args) : `${parsed.name}(${[...parsed.args].join(', ')})`,
  }
}

function parseTokenError(error: unknown): { name: string; args: Result } | null {
  const data = findRevertData(error, 0)
  if (!data) return null
  try {
    const parsed = tokenErrors.parseError(data)
    return parsed ? { name: parsed.name, args: parsed.args } : null
  } catch {
    return null
  }
}

function findRevertData(value: unknown, depth: number): string | null {
  if (depth > 5 || typeof value !== 'object' || value === null) return null
  const record = value as Record<string, unknown>
  if (typeof record.data === 'string' && /^0x[0-9a-fA-F]{8}/.test(record.data)) return record.data
  for (const key of ['error', 'info', 'cause']) {
    const found = findRevertData(record[key], depth + 1)
    if (found) return found
  }
  return null
}
