import type { Address, Hex, RevenueShares } from '@rma/core'
import type { Contract } from 'ethers'
import { SettlementError } from './errors.js'

/** What the settlement client needs to know of an asset, read from the contract. */
export type AssetState = {
  token: Address
  settler: Address
  issuer: Address
  shares: RevenueShares
  /** The last settled epoch (0 before the first settlement). */
  epoch: number
  rebateRoot: Hex
  payouts: {
    issuer: { funded: bigint; claimed: bigint; claimable: bigint }
    supporters: { funded: bigint; claimed: bigint; claimable: bigint }
    users: { funded: bigint; claimed: bigint; claimable: bigint }
    /** The protocol's balance is per payment token, across the assets that share it. */
    protocol: { funded: bigint; claimed: bigint; claimable: bigint }
  }
}

/**
 * Reads an asset with one `getAsset` call. Throws `SettlementError('UNKNOWN_ASSET')` for an
 * asset that was never registered.
 *
 * @example
 * const { epoch, shares } = await readAsset(contract, assetId)
 */
export async function readAsset(contract: Contract, assetId: Hex): Promise<AssetState> {
  const v = (await contract.getFunction('getAsset')(assetId)) as Record<string, unknown>
  const issuer = String(v.issuer) as Address
  if (/^0x0{40}$/.test(issuer))
    throw new SettlementError('UNKNOWN_ASSET', `Asset ${assetId} is not registered.`)
  const protocol = (await contract.getFunction('protocolOwed')(v.token)) as bigint
  const n = (key: string) => BigInt(v[key] as bigint)
  const role = (funded: bigint, claimed: bigint) => ({
    funded,
    claimed,
    claimable: funded - claimed,
  })
  return {
    token: String(v.token) as Address,
    settler: String(v.settler) as Address,
    issuer,
    shares: {
      issuerBps: Number(v.issuerBps),
      supportersBps: Number(v.supportersBps),
      usersBps: Number(v.usersBps),
      protocolBps: Number(v.protocolBps),
    },
    epoch: Number(v.epoch),
    rebateRoot: String(v.rebateRoot).toLowerCase() as Hex,
    payouts: {
      issuer: role(n('issuerFunded'), n('issuerClaimed')),
      supporters: role(n('supportersFunded'), n('supportersClaimed')),
      users: role(n('rebatesFunded'), n('rebatesClaimed')),
      protocol: { funded: protocol, claimed: 0n, claimable: protocol },
    },
  }
}
