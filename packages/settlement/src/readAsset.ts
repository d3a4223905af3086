import type { RmaSettlementContract } from '@rma/contracts'
import type { Address, Hex, RevenueShares } from '@rma/core'
import { UnknownAssetError } from './errors.js'

/** What the settlement client needs to know of an asset, read from the contract. */
export type AssetState = {
  token: Address
  settler: Address
  issuer: Address
  shares: RevenueShares
  /** The last settled epoch (0 before the first settlement). */
  epoch: number
  /** Seconds a postpaid batch settled now stays pending before its release (0: credited at once). */
  challengeWindow: number
}

/**
 * Reads an asset with a `getAsset` and a `challengeWindowOf` call. Throws `UnknownAssetError` (`UNKNOWN_ASSET`) for an
 * asset that was never registered.
 *
 * @example
 * const { epoch, shares } = await readAsset(getSettlementContract(address, provider), assetId)
 */
export async function readAsset(
  contract: RmaSettlementContract,
  assetId: Hex,
): Promise<AssetState> {
  const [v, challengeWindow] = await Promise.all([
    contract.getAsset(assetId),
    contract.challengeWindowOf(assetId),
  ])
  const issuer = String(v.issuer) as Address
  if (/^0x0{40}$/.test(issuer))
    throw new UnknownAssetError({ shortMessage: `Asset ${assetId} is not registered.` })
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
    challengeWindow: Number(challengeWindow),
  }
}
