import { getSettlementContract } from '@rma/contracts'
import { type Address, type Hex, rebateLeaf, verifyMerkleProof } from '@rma/core'
import type { Signer } from 'ethers'

export type ClaimRebateParameters = {
  /** The provider's origin (`http://127.0.0.1:8787`): it serves `GET /rma/proofs/:user`. */
  providerURL: string
  /** The user's key, connected to the chain (it pays the claim's gas). */
  signer: Signer
  settlementContract: Address
  assetId: Hex
}

export type ClaimRebateReturnType = {
  /** Paid by this claim: the cumulative rebate minus what was claimed before. */
  amount: bigint
  cumulativeAmount: bigint
  /** The last settled epoch the proof is for: one claim covers every epoch up to it. */
  epoch: number
  txHash: Hex
  gasUsed: bigint
}

/**
 * Claims the user's rebates of every settled epoch in one transaction: fetches the cumulative
 * amount and its Merkle proof from the provider, checks the proof against the rebate root on
 * chain (the provider is not trusted), and sends `claimRebate`.
 *
 * @example
 * const { amount } = await claimRebate({ providerURL, signer: user.connect(rpc), settlementContract, assetId })
 */
export async function claimRebate(
  parameters: ClaimRebateParameters,
): Promise<ClaimRebateReturnType | undefined> {
  const { signer, assetId } = parameters
  const user = (await signer.getAddress()) as Address
  const res = await fetch(`${parameters.providerURL.replace(/\/+$/, '')}/rma/proofs/${user}`)
  if (res.status === 404) return undefined
  if (!res.ok) throw new Error(`The provider answered ${res.status} for the rebate proof.`)
  const served = (await res.json()) as {
    epoch: number
    cumulativeAmount: string
    claimed: string
    proof: Hex[]
  }
  const cumulativeAmount = BigInt(served.cumulativeAmount)
  const contract = getSettlementContract(parameters.settlementContract, signer)
  const { rebateRoot } = await contract.getAsset(assetId)
  if (
    !verifyMerkleProof({
      root: rebateRoot as Hex,
      leaf: rebateLeaf(user, cumulativeAmount),
      proof: served.proof,
    })
  )
    throw new Error('The provider served a rebate proof that does not match the root on chain.')
  const claimed = await contract.rebateClaimed(assetId, user)
  if (cumulativeAmount <= claimed) return undefined
  const tx = await contract.claimRebate(assetId, user, cumulativeAmount, served.proof)
  const receipt = await tx.wait()
  if (receipt?.status !== 1) throw new Error('claimRebate reverted.')
  return {
    amount: cumulativeAmount - claimed,
    cumulativeAmount,
    epoch: served.epoch,
    txHash: tx.hash as Hex,
    gasUsed: receipt.gasUsed,
  }
}
