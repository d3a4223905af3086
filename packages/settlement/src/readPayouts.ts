import type { RmaSettlementContract } from '@rma/contracts'
import { type Hex, splitRevenue } from '@rma/core'
import { SettlementError } from './errors.js'
import { readPendingBatches } from './readPendingBatches.js'

/** One role's figures in base units: funded by settlements, paid out, and owed. */
export type RolePayout = { funded: bigint; claimed: bigint; claimable: bigint }

/** Per role, this asset's own figures (never another asset's in the same token). */
export type Payouts = {
  epoch: number
  issuer: RolePayout
  /** `claimable` includes the share held until stake is active. */
  supporters: RolePayout
  users: RolePayout
  protocol: RolePayout
  /**
   * Postpaid batches in their challenge window: settled and paid in, but credited (and their
   * rebates claimable) only at their release; not in the roles' figures above. A vetoed batch
   * leaves this list without ever reaching them (its revenue goes back to the settler).
   */
  pending: PendingPayouts
}

/** The split of the pending batches' revenue, by role, and when the oldest can be released. */
export type PendingPayouts = {
  batches: number
  /** Epochs of the pending batches, oldest first. */
  epochs: number[]
  revenue: bigint
  issuer: bigint
  supporters: bigint
  users: bigint
  protocol: bigint
  /** Unix seconds from which the oldest can be released (null when none is pending). */
  nextReleasableAt: bigint | null
}

/**
 * Reads one asset's payouts per role from its own books on chain (`getAsset`): what its
 * settlements funded, what was claimed, and what is still claimable. The protocol's figures
 * are this asset's fees, not the token's total across assets. Batches still in their challenge
 * window are reported apart (`pending`), split as their release will credit them.
 *
 * @example
 * const { users } = await readPayouts(getSettlementContract(address, provider), assetId)
 * users.claimable // rebates funded and not yet claimed
 */
export async function readPayouts(contract: RmaSettlementContract, assetId: Hex): Promise<Payouts> {
  const v = await contract.getAsset(assetId)
  if (/^0x0{40}$/.test(String(v.issuer)))
    throw new SettlementError('UNKNOWN_ASSET', `Asset ${assetId} is not registered.`)
  const role = (funded: bigint, claimed: bigint): RolePayout => ({
    funded,
    claimed,
    claimable: funded - claimed,
  })
  const shares = {
    issuerBps: Number(v.issuerBps),
    supportersBps: Number(v.supportersBps),
    usersBps: Number(v.usersBps),
    protocolBps: Number(v.protocolBps),
  }
  const batches = await readPendingBatches(contract, assetId, Number(v.epoch))
  const pending: PendingPayouts = {
    batches: batches.length,
    epochs: batches.map((b) => b.epoch),
    revenue: 0n,
    issuer: 0n,
    supporters: 0n,
    users: 0n,
    protocol: 0n,
    nextReleasableAt: batches[0]?.releasableAt ?? null,
  }
  // The contract splits each batch at its release, exactly like splitRevenue.
  for (const batch of batches) {
    const split = splitRevenue(batch.revenue, shares)
    pending.revenue += batch.revenue
    pending.issuer += split.issuer
    pending.supporters += split.supporters
    pending.users += split.users
    pending.protocol += split.protocol
  }
  return {
    epoch: Number(v.epoch),
    issuer: role(v.issuerFunded, v.issuerClaimed),
    supporters: role(v.supportersFunded, v.supportersClaimed),
    users: role(v.rebatesFunded, v.rebatesClaimed),
    protocol: role(v.protocolFunded, v.protocolClaimed),
    pending,
  }
}
