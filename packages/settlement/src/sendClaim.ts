import type { Hex } from '@rma/core'
import type { ContractTransactionResponse } from 'ethers'
import { decodeRevert } from './decodeRevert.js'
import { TransactionRevertedError } from './errors.js'

/**
 * Sends one claim transaction (`claimRewards`, `claimIssuer`, `claimProtocol`) and waits for
 * it; a refusal becomes `TransactionRevertedError` (`TX_REVERTED`) with the decoded reason.
 *
 * @example
 * await sendClaim('claimIssuer', () => settlement.connect(issuer).claimIssuer(assetId))
 */
export async function sendClaim(
  what: string,
  send: () => Promise<ContractTransactionResponse>,
  confirmations = 1,
): Promise<{ txHash: Hex; gasUsed: bigint }> {
  try {
    const tx = await send()
    const receipt = await tx.wait(confirmations)
    return { txHash: tx.hash as Hex, gasUsed: receipt?.gasUsed ?? 0n }
  } catch (error) {
    const revert = decodeRevert(error)
    throw new TransactionRevertedError({
      shortMessage: `${what} was refused${revert ? `: ${revert.reason}` : ''}.`,
      cause: error,
      revert,
    })
  }
}
