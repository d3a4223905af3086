import { Interface, type Result } from 'ethers'
import { rmaSettlementAbi } from './artifacts/RMASettlement.js'

const settlementInterface = new Interface(rmaSettlementAbi)

export type SettlementError = {
  /** The custom error's name, for example `BadEpoch`. */
  name: string
  /** Its arguments (for `BadEpoch`: `args.expected`, the epoch to settle next). */
  args: Result
  signature: string
}

/**
 * Decodes a custom error of the settlement contract out of whatever ethers threw (a failed
 * `estimateGas`, `staticCall` or call). Returns `null` when the error carries no revert data of
 * this contract. ethers decodes custom errors only for `staticCall`; a signer's
 * `sendTransaction` reports the raw revert data, which this finds.
 *
 * @example
 * try {
 *   await settlement.settle(assetId, epoch, revenue, receiptsRoot, rebateRoot, count, uri, hash)
 * } catch (error) {
 *   const reverted = parseSettlementError(error)
 *   if (reverted?.name === 'BadEpoch') epoch = Number(reverted.args.expected)
 * }
 */
export function parseSettlementError(error: unknown): SettlementError | null {
  const data = findRevertData(error, 0)
  if (!data) return null
  try {
    const parsed = settlementInterface.parseError(data)
    return parsed ? { name: parsed.name, args: parsed.args, signature: parsed.signature } : null
  } catch {
    return null
  }
}

/** ethers nests revert data at different depths depending on where the call failed. */
function findRevertData(value: unknown, depth: number): string | null {
  if (depth > 5 || typeof value !== 'object' || value === null) return null
  const record = value as Record<string, unknown>
  const data = record.data
  if (typeof data === 'string' && /^0x[0-9a-fA-F]{8}/.test(data)) return data
  for (const key of ['error', 'info', 'cause']) {
    const found = findRevertData(record[key], depth + 1)
    if (found) return found
  }
  return null
}
