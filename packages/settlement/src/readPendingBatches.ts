import type { RmaSettlementContract } from '@rma/contracts'
import type { Hex } from '@rma/core'

/** A postpaid batch in its challenge window: credited and claimable only at its release. */
export type PendingBatch = {
  epoch: number
  /** Unix seconds from which `release` may credit it (once every earlier one is released). */
  releasableAt: bigint
  /** The revenue it paid in, split at its release. */
  revenue: bigint
}

/**
 * The asset's pending postpaid batches, oldest first (at most `MAX_PENDING_BATCHES`, 15): the
 * latest settled epochs whose `epochStateOf` is pending. Empty for an asset without a
 * challenge window.
 *
 * @example
 * const pending = await readPendingBatches(getSettlementContract(address, provider), assetId)
 * const due = pending.filter((b) => b.releasableAt <= now)
 */
export async function readPendingBatches(
  contract: RmaSettlementContract,
  assetId: Hex,
  epoch?: number,
): Promise<PendingBatch[]> {
  const last = epoch ?? Number((await contract.getAsset(assetId)).epoch)
  const pending: PendingBatch[] = []
  for (let e = last; e >= 1 && e > last - 15; e--) {
    const state = await contract.epochStateOf(assetId, e)
    if (state.state !== 1n) break
    pending.unshift({ epoch: e, releasableAt: state.releasableAt, revenue: state.revenue })
  }
  return pending
}
