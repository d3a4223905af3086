import type { RmaSettlementContract } from '@rma/contracts'
import type { Hex } from '@rma/core'
import { SettlementError } from './errors.js'

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
}

/**
 * Reads one asset's payouts per role from its own books on chain (`getAsset`): what its
 * settlements funded, what was claimed, and what is still claimable. The protocol's figures
 * are this asset's fees, not the token's total across assets.
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
  return {
    epoch: Number(v.epoch),
    issuer: role(v.issuerFunded, v.issuerClaimed),
    supporters: role(v.supportersFunded, v.supportersClaimed),
    users: role(v.rebatesFunded, v.rebatesClaimed),
    protocol: role(v.protocolFunded, v.protocolClaimed),
  }
}
