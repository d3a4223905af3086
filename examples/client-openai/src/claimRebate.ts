import { getSettlementContract, storedRebateRoot } from '@rma/contracts'
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
  /** Paid by this claim: the sum of every claimed epoch's rebate. */
  amount: bigint
  /** The epochs this claim paid, each under its own root. */
  epochs: number[]
  txHash: Hex
  gasUsed: bigint
}

/** What `GET /rma/proofs/:user` answers. */
type ServedProof = {
  user: Address
  total: string
  claims: { epoch: number; amount: string; proof: Hex[] }[]
}

/**
 * Claims the user's rebates of every settled epoch in one `claimRebates` transaction: fetches
 * each epoch's amount and Merkle proof from the provider, checks every proof against that
 * epoch's rebate root on chain (the provider is not trusted) and skips epochs already claimed.
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
  if (!res.ok) {
    const body = (await res.json().catch(() => undefined)) as
      | { error?: { message?: string } }
      | undefined
    throw new Error(
      `The provider answered ${res.status} for the rebate proof: ${body?.error?.message ?? 'no details'}`,
    )
  }
  const served = (await res.json()) as ServedProof
  const contract = getSettlementContract(parameters.settlementContract, signer)
  const claims: { epoch: number; amount: bigint; proof: Hex[] }[] = []
  for (const claim of served.claims) {
    const amount = BigInt(claim.amount)
    // The contract keeps 20 bytes of each epoch's root; the Settled event carries all 32.
    const [settled] = await contract.queryFilter(contract.filters.Settled!(assetId, claim.epoch))
    const root = (settled as unknown as { args?: { rebateRoot: Hex } } | undefined)?.args
      ?.rebateRoot
    const { root: stored } = await contract.epochRebates(assetId, claim.epoch)
    if (
      !root ||
      storedRebateRoot(root) !== stored.toLowerCase() ||
      !verifyMerkleProof({ root, leaf: rebateLeaf(user, amount), proof: claim.proof })
    )
      throw new Error(
        `The provider served a rebate proof for epoch ${claim.epoch} that does not match its root on chain.`,
      )
    if (!(await contract.rebateClaimed(assetId, claim.epoch, user)))
      claims.push({ epoch: claim.epoch, amount, proof: claim.proof })
  }
  if (claims.length === 0) return undefined
  const tx = await contract.claimRebates(assetId, user, claims)
  const receipt = await tx.wait()
  if (receipt?.status !== 1) throw new Error('claimRebates reverted.')
  return {
    amount: claims.reduce((sum, c) => sum + c.amount, 0n),
    epochs: claims.map((c) => c.epoch),
    txHash: tx.hash as Hex,
    gasUsed: receipt.gasUsed,
  }
}
