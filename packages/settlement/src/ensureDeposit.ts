import type { RmaSettlementContract } from '@rma/contracts'
import type { Address, Hex } from '@rma/core'
import { Contract, type Signer } from 'ethers'
import { ensureAllowance } from './ensureAllowance.js'

const erc20Abi = ['function balanceOf(address owner) view returns (uint256)'] as const

export type EnsureDepositParameters = {
  /** The settlement contract, connected to the settler. */
  contract: RmaSettlementContract
  signer: Signer
  /** The settlement contract's address (the spender of the allowance). */
  spender: Address
  assetId: Hex
  token: Address
  /** The next batch's revenue. */
  needed: bigint
  /** Batches of `needed` to cover when topping up (the settler's `depositBatches`). */
  batches: number
  /** Allowance approved when the standing one is short (see `ensureAllowance`). */
  allowance?: bigint
  confirmations?: number
  /** Sends with an explicit nonce (the settler's own nonce reader). */
  nonce?: () => Promise<number>
}

export type EnsureDepositReturnType = {
  /** Gas of the `approve` sent for the top-up or the pull (0 while the allowance lasts). */
  approveGasUsed: bigint
  /** Gas of the `deposit` top-up (0 when the deposit already covered `needed`). */
  depositGasUsed: bigint
  /** The settler's deposit after any top-up, as the contract credited it. */
  deposit: bigint
}

/**
 * Keeps the settler's deposit able to pay the next batch: when it holds less than `needed`,
 * tops it up to `batches × needed` (or with the whole wallet, when that still covers this
 * batch), so most settles debit the deposit instead of moving tokens. The top-up is pulled
 * under a standing allowance. When the wallet cannot cover the batch either way nothing is
 * sent: the settle falls back to `transferFrom`, whose simulation reports the shortfall.
 * A fee-on-transfer token credits the deposit less than was sent; a deposit still short of the
 * batch is never used in part (the contract pulls the whole revenue instead).
 *
 * @example
 * await ensureDeposit({ contract, signer, spender, assetId, token, needed: revenue, batches: 24 })
 */
export async function ensureDeposit(
  parameters: EnsureDepositParameters,
): Promise<EnsureDepositReturnType> {
  const { contract, signer, assetId, needed } = parameters
  const owner = await signer.getAddress()
  const deposit = await contract.depositOf(assetId, owner)
  const allowance = (amount: bigint) =>
    ensureAllowance({
      signer,
      token: parameters.token,
      spender: parameters.spender,
      needed: amount,
      target: parameters.allowance,
      confirmations: parameters.confirmations,
      nonce: parameters.nonce,
    })
  if (needed === 0n || deposit >= needed) return { approveGasUsed: 0n, depositGasUsed: 0n, deposit }
  const token = new Contract(parameters.token, erc20Abi, signer)
  const balance = (await token.getFunction('balanceOf')(owner)) as bigint
  const wanted = needed * BigInt(Math.max(1, Math.floor(parameters.batches))) - deposit
  const amount = wanted <= balance ? wanted : balance >= needed - deposit ? balance : 0n
  // The wallet cannot pay this batch at all: keep the allowance for the pull, send nothing.
  if (amount === 0n) return { approveGasUsed: await allowance(needed), depositGasUsed: 0n, deposit }
  const approveGasUsed = await allowance(amount)
  const overrides = parameters.nonce ? { nonce: await parameters.nonce() } : {}
  const tx = await contract.deposit(assetId, amount, overrides)
  const receipt = await tx.wait(parameters.confirmations ?? 1)
  return {
    approveGasUsed,
    depositGasUsed: receipt?.gasUsed ?? 0n,
    deposit: await contract.depositOf(assetId, owner),
  }
}
