import type { Address } from '@rma/core'
import { Contract, type ContractTransactionResponse, MaxUint256, type Signer } from 'ethers'

const erc20Abi = [
  'function approve(address spender, uint256 amount) returns (bool)',
  'function allowance(address owner, address spender) view returns (uint256)',
] as const

export type EnsureAllowanceParameters = {
  signer: Signer
  token: Address
  spender: Address
  /** What the next transfer needs. */
  needed: bigint
  /** What to approve when the allowance is short (default: the largest uint256, never spent down by OpenZeppelin's ERC-20). */
  target?: bigint
  confirmations?: number
  /** Sends with an explicit nonce (the settler's own nonce reader). */
  nonce?: () => Promise<number>
}

/**
 * Keeps a standing allowance: approves `target` only when the allowance is below `needed`,
 * so a settler approves once, not once per batch (an `approve` costs ~46k gas, more than half
 * a settle). Returns the approve transaction's gas, 0 when none was needed.
 *
 * @example
 * await ensureAllowance({ signer: settler, token, spender: contract, needed: revenue })
 */
export async function ensureAllowance(parameters: EnsureAllowanceParameters): Promise<bigint> {
  const { signer, needed } = parameters
  const token = new Contract(parameters.token, erc20Abi, signer)
  const owner = await signer.getAddress()
  const allowance = (await token.getFunction('allowance')(owner, parameters.spender)) as bigint
  if (allowance >= needed) return 0n
  let target = parameters.target ?? MaxUint256
  // A cap below this batch would leave it unpayable: approve at least what it needs.
  if (target < needed) target = needed
  const overrides = parameters.nonce ? { nonce: await parameters.nonce() } : {}
  const tx = (await token.getFunction('approve')(
    parameters.spender,
    target,
    overrides,
  )) as ContractTransactionResponse
  const receipt = await tx.wait(parameters.confirmations ?? 1)
  return receipt?.gasUsed ?? 0n
}
