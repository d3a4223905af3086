import type { RmaSettlementContract } from '@rma/contracts'
import { type Address, type Hex, splitRevenue } from '@rma/core'
import { UnknownAssetError } from './errors.js'
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
  /** What fraud proofs can take and took: the issuer bond, the freeze, and each supporter asked about. */
  risk: AssetRisk
}

/** The asset's fraud risk (`riskOf`), in base units. */
export type AssetRisk = {
  /** The issuer bond (0 if none): fraud proofs take from it first. */
  bond: bigint
  /** Whether a proven fraud froze the asset (settlements revert until the issuer resumes it). */
  frozen: boolean
  /** Everything fraud proofs took from the bond and the stake so far. */
  totalSlashed: bigint
  /** Meters authorised now. */
  meters: number
  /** One entry per supporter passed in `options.supporters`, in that order. */
  supporters: SupporterRisk[]
}

/** One supporter's stake at risk, slashes and rewards (`stakeAtRiskOf`, `claimableRewards`). */
export type SupporterRisk = {
  supporter: Address
  /** Active stake: earns rewards, slashable. */
  active: bigint
  /** Stake waiting out the unbonding delay: still slashable. */
  unbonding: bigint
  /** `active + unbonding`: what a fraud proof can slash now (pending stake is not at risk). */
  atRisk: bigint
  /** What fraud proofs took from this supporter's stake so far. */
  slashed: bigint
  /** Rewards it can claim now. */
  claimableRewards: bigint
}

/** What `readPayouts` reads beyond the roles. */
export type ReadPayoutsOptions = {
  /** Supporters whose stake at risk, slashes and rewards to report in `risk.supporters`. */
  supporters?: readonly Address[]
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
 * window are reported apart (`pending`), split as their release will credit them. `risk` is
 * the asset's fraud risk: its issuer bond, frozen flag and total slashed, and for each supporter
 * in `options.supporters` its stake at risk, what slashes took from it and its claimable rewards.
 *
 * @example
 * const { users } = await readPayouts(getSettlementContract(address, provider), assetId)
 * users.claimable // rebates funded and not yet claimed
 * const { risk } = await readPayouts(contract, assetId, { supporters: [alice] })
 * risk.supporters[0].atRisk // alice's active + unbonding stake
 */
export async function readPayouts(
  contract: RmaSettlementContract,
  assetId: Hex,
  options: ReadPayoutsOptions = {},
): Promise<Payouts> {
  const v = await contract.getAsset(assetId)
  if (/^0x0{40}$/.test(String(v.issuer)))
    throw new UnknownAssetError({ shortMessage: `Asset ${assetId} is not registered.` })
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
  const [bond, frozen, totalSlashed, meters] = await contract.riskOf(assetId)
  const supporters = await Promise.all(
    (options.supporters ?? []).map(async (supporter): Promise<SupporterRisk> => {
      const [[active, unbonding, slashed], claimableRewards] = await Promise.all([
        contract.stakeAtRiskOf(assetId, supporter),
        contract.claimableRewards(assetId, supporter),
      ])
      return {
        supporter,
        active,
        unbonding,
        atRisk: active + unbonding,
        slashed,
        claimableRewards,
      }
    }),
  )
  return {
    epoch: Number(v.epoch),
    issuer: role(v.issuerFunded, v.issuerClaimed),
    supporters: role(v.supportersFunded, v.supportersClaimed),
    users: role(v.rebatesFunded, v.rebatesClaimed),
    protocol: role(v.protocolFunded, v.protocolClaimed),
    pending,
    risk: { bond, frozen, totalSlashed, meters: Number(meters), supporters },
  }
}
