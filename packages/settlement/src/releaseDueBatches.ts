import type { RmaSettlementContract } from '@rma/contracts'
import type { Hex } from '@rma/core'
import { decodeRevert } from './decodeRevert.js'
import { TransactionRevertedError } from './errors.js'
import { readPendingBatches } from './readPendingBatches.js'

export type ReleaseDueBatchesParameters = {
  /** The settlement contract, connected to the signer that sends (anyone may release). */
  contract: RmaSettlementContract
  assetId: Hex
  confirmations?: number
  /** The transaction's nonce (a settler sending back to back passes the node's pending one). */
  nonce?: () => Promise<number>
}

export type ReleaseDueBatchesReturnType =
  | { status: 'none'; pending: number }
  | { status: 'released'; epochs: number[]; pending: number; txHash: Hex; gasUsed: bigint }

/**
 * Releases, in one `release` transaction, every pending batch of the asset whose challenge
 * window has passed by the latest block's time (oldest first: a batch waits for every earlier
 * one). Sends nothing when none is due. A refusal becomes `TransactionRevertedError` (`TX_REVERTED`)
 * with the decoded reason.
 *
 * @example
 * const result = await releaseDueBatches({ contract: getSettlementContract(address, wallet), assetId })
 * if (result.status === 'released') log(result.epochs, result.gasUsed)
 */
export async function releaseDueBatches(
  parameters: ReleaseDueBatchesParameters,
): Promise<ReleaseDueBatchesReturnType> {
  const { contract, assetId } = parameters
  const pending = await readPendingBatches(contract, assetId)
  const block = await contract.runner?.provider?.getBlock('latest')
  const now = BigInt(block?.timestamp ?? Math.floor(Date.now() / 1000))
  const due: number[] = []
  for (const batch of pending) {
    if (batch.releasableAt > now) break
    due.push(batch.epoch)
  }
  const last = due.at(-1)
  if (last === undefined) return { status: 'none', pending: pending.length }
  try {
    const nonce = parameters.nonce ? { nonce: await parameters.nonce() } : {}
    const tx = await contract.release(assetId, last, nonce)
    const receipt = await tx.wait(parameters.confirmations ?? 1)
    return {
      status: 'released',
      epochs: due,
      pending: pending.length - due.length,
      txHash: tx.hash as Hex,
      gasUsed: receipt?.gasUsed ?? 0n,
    }
  } catch (error) {
    const revert = decodeRevert(error)
    throw new TransactionRevertedError({
      shortMessage: `release(epoch ${last}) was refused${revert ? `: ${revert.reason}` : ''}.`,
      cause: error,
      revert,
    })
  }
}
