import { assertShares, type RevenueShares } from '@rma/core'
import type { ContractTransactionReceipt } from 'ethers'
import type { RmaSettlementContract } from './types.js'

export type RegisterAssetParameters = Omit<RevenueShares, 'protocolBps'> & {
  /** The asset id (bytes32), unused so far on this contract. */
  assetId: string
  /** The ERC-20 the asset is paid and staked in. */
  token: string
  /** The account allowed to settle batches (and pay their revenue). */
  settler: string
  /** Protocol fee in bps (default 0). */
  protocolBps?: number
  /** Seconds between `requestUnstake` and `withdraw` (at most 365 days). */
  unbondingDelay: number | bigint
  /** Meter keys allowed to sign receipts for the asset. */
  meters?: readonly string[]
}

export type RegisterAssetReturnType = {
  assetId: string
  /** The issuer: the account that sent the transaction. */
  issuer: string
  receipt: ContractTransactionReceipt
}

/**
 * Registers an asset; the contract's runner (a signer) becomes its issuer. The shares are
 * checked with `assertShares` of `@rma/core` before anything is sent.
 *
 * @example
 * await registerAsset(settlement.connect(issuer), {
 *   assetId, token, settler: settler.address,
 *   issuerBps: 6000, supportersBps: 2500, usersBps: 1500,
 *   unbondingDelay: 7 * 24 * 3600, meters: [meter.address],
 * })
 */
export async function registerAsset(
  contract: RmaSettlementContract,
  parameters: RegisterAssetParameters,
): Promise<RegisterAssetReturnType> {
  const { assetId, token, settler, unbondingDelay, meters = [] } = parameters
  const shares: RevenueShares = {
    issuerBps: parameters.issuerBps,
    supportersBps: parameters.supportersBps,
    usersBps: parameters.usersBps,
    protocolBps: parameters.protocolBps ?? 0,
  }
  assertShares(shares)
  const tx = await contract.registerAsset(
    assetId,
    token,
    settler,
    shares.issuerBps,
    shares.supportersBps,
    shares.usersBps,
    shares.protocolBps,
    unbondingDelay,
    [...meters],
  )
  const receipt = await tx.wait()
  if (!receipt) throw new Error('The registerAsset transaction was not mined.')
  return { assetId, issuer: receipt.from, receipt }
}
