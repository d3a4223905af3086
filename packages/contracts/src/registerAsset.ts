import { assertShares, type RevenueShares } from '@rma/core'
import type { ContractTransactionReceipt } from 'ethers'
import { assetIdOf } from './assetIdOf.js'
import { TransactionNotMinedError } from './errors.js'
import type { RmaSettlementContract } from './types.js'

export type RegisterAssetParameters = Omit<RevenueShares, 'protocolBps'> & {
  /**
   * The issuer's salt (bytes32): the asset id is `assetIdOf(issuer, salt)`, so only the issuer
   * can register it.
   */
  salt: string
  /** The ERC-20 the asset is paid and staked in. */
  token: string
  /** The account allowed to settle batches (and pay their revenue). */
  settler: string
  /** Protocol fee in bps (default 0). */
  protocolBps?: number
  /** Seconds between `requestUnstake` and `withdraw` (1 day to 365 days). */
  unbondingDelay: number | bigint
  /** Meter keys allowed to sign receipts for the asset. */
  meters?: readonly string[]
}

export type RegisterAssetReturnType = {
  /** `assetIdOf(issuer, salt)`. */
  assetId: string
  /** The issuer: the account that sent the transaction. */
  issuer: string
  receipt: ContractTransactionReceipt
}

/**
 * Registers an asset; the contract's runner (a signer) becomes its issuer and the asset id is
 * `assetIdOf(issuer, salt)`. The shares are checked with `assertShares` of `@rma/core` before
 * anything is sent.
 *
 * @example
 * const { assetId } = await registerAsset(settlement.connect(issuer), {
 *   salt: keccak256(toUtf8Bytes('my-model')), token, settler: settler.address,
 *   issuerBps: 6000, supportersBps: 2500, usersBps: 1500,
 *   unbondingDelay: 7 * 24 * 3600, meters: [meter.address],
 * })
 */
export async function registerAsset(
  contract: RmaSettlementContract,
  parameters: RegisterAssetParameters,
): Promise<RegisterAssetReturnType> {
  const { salt, token, settler, unbondingDelay, meters = [] } = parameters
  const shares: RevenueShares = {
    issuerBps: parameters.issuerBps,
    supportersBps: parameters.supportersBps,
    usersBps: parameters.usersBps,
    protocolBps: parameters.protocolBps ?? 0,
  }
  assertShares(shares)
  const tx = await contract.registerAsset(
    salt,
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
  if (!receipt) throw new TransactionNotMinedError({ transaction: 'registerAsset transaction' })
  return { assetId: assetIdOf(receipt.from, salt), issuer: receipt.from, receipt }
}
