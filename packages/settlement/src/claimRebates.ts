import type { RmaSettlementContract } from '@rma/contracts'
import type { Hex } from '@rma/core'
import type { RebateProof } from './createRebateProver.js'
import { decodeRevert } from './decodeRevert.js'
import { EpochPendingError, NothingToClaimError, TransactionRevertedError } from './errors.js'

export type ClaimRebatesParameters = {
  /** The settlement contract, connected to the signer that sends (anyone may send for a user). */
  contract: RmaSettlementContract
  assetId: Hex
  /** What `proofFor(user)` (or `GET /rma/proofs/:user`) answered. */
  proof: RebateProof | undefined
  confirmations?: number
}

export type ClaimRebatesReturnType = {
  amount: bigint
  epochs: number[]
  txHash: Hex
  gasUsed: bigint
}

/**
 * Claims every listed epoch's rebate of one user in one `claimRebates` transaction; the tokens
 * go to the user whoever sends it. Throws `NothingToClaimError` (`NOTHING_TO_CLAIM`) for an empty
 * proof, `EpochPendingError` (`EPOCH_PENDING`) when an epoch is still in its challenge window
 * (`revert.reason` says from when it can be claimed) and `TransactionRevertedError` (`TX_REVERTED`) with
 * the decoded reason when the chain refuses.
 *
 * @example
 * const proof = await prover.proofFor(user)
 * await claimRebates({ contract: getSettlementContract(address, wallet), assetId, proof })
 */
export async function claimRebates(
  parameters: ClaimRebatesParameters,
): Promise<ClaimRebatesReturnType> {
  const { contract, assetId, proof } = parameters
  if (!proof || proof.claims.length === 0)
    throw new NothingToClaimError({ shortMessage: 'There is no unclaimed rebate to claim.' })
  try {
    const tx = await contract.claimRebates(
      assetId,
      proof.user,
      proof.claims.map((c) => ({ epoch: c.epoch, amount: c.amount, proof: c.proof })),
    )
    const receipt = await tx.wait(parameters.confirmations ?? 1)
    return {
      amount: proof.total,
      epochs: proof.claims.map((c) => c.epoch),
      txHash: tx.hash as Hex,
      gasUsed: receipt?.gasUsed ?? 0n,
    }
  } catch (error) {
    const revert = decodeRevert(error)
    // A batch still in its challenge window: the claim can succeed later, unlike a refusal.
    const failure = {
      shortMessage: `claimRebates for ${proof.user} was refused${revert ? `: ${revert.reason}` : ''}.`,
      cause: error,
      revert,
    }
    throw revert?.name === 'EpochPending'
      ? new EpochPendingError(failure)
      : new TransactionRevertedError(failure)
  }
}
