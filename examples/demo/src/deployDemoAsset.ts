import {
  deploySettlement,
  deployTestToken,
  type RmaSettlementContract,
  registerAsset,
  type TestTokenContract,
} from '@rma/contracts'
import type { Address, Hex, RevenueShares } from '@rma/core'
import { id, type Signer } from 'ethers'

export type DeployDemoAssetParameters = {
  /** Deploys both contracts and owns the settlement contract: the protocol fee recipient. */
  owner: Signer
  /** Registers the asset and receives the issuer's share. */
  issuer: Signer
  /** Settles batches and pays their revenue in. */
  settler: Signer
  /** The provider's meter key address, authorised to sign receipts for the asset. */
  meter: Address
  shares: RevenueShares
  /** Seconds between `requestUnstake` and `withdraw`. */
  unbondingDelay: number
  /** Test-token base units minted to each account (the settler pays revenue from them). */
  mint: { to: Address; amount: bigint }[]
  /** The model the asset stands for; its id is keccak256 of `rma:asset:<model>`. */
  model: string
}

export type DemoAsset = {
  assetId: Hex
  settlementContract: Address
  settlement: RmaSettlementContract
  token: TestTokenContract
  tokenAddress: Address
  decimals: number
  symbol: string
}

/**
 * What an issuer does once per model: deploy (or reuse) the settlement contract, pick the
 * payment token (here a test token anyone can mint), and register the asset with its meters,
 * settler, revenue shares and unbonding delay. On a real chain, skip the two deployments and
 * use the existing contract and a real stablecoin.
 *
 * @example
 * const asset = await deployDemoAsset({ owner, issuer, settler, meter, shares, unbondingDelay: 7 * 86_400, mint: [], model })
 */
export async function deployDemoAsset(parameters: DeployDemoAssetParameters): Promise<DemoAsset> {
  const { contract: token, address: tokenAddress } = await deployTestToken(parameters.owner, {
    name: 'Test USD',
    symbol: 'tUSD',
    decimals: 6,
  })
  const { contract: settlement, address } = await deploySettlement(parameters.owner)
  // The id is the issuer's salted one: nobody else can register (squat) it.
  const registered = await registerAsset(settlement.connect(parameters.issuer), {
    salt: id(`rma:asset:${parameters.model}`),
    token: tokenAddress,
    settler: await parameters.settler.getAddress(),
    ...parameters.shares,
    unbondingDelay: parameters.unbondingDelay,
    meters: [parameters.meter],
  })
  // Send every mint, then wait once: anvil mines each transaction as it arrives.
  const minted = []
  for (const { to, amount } of parameters.mint) minted.push(await token.mint(to, amount))
  await Promise.all(minted.map((tx) => tx.wait()))
  return {
    assetId: registered.assetId as Hex,
    settlementContract: address as Address,
    settlement,
    token,
    tokenAddress: tokenAddress as Address,
    decimals: 6,
    symbol: 'tUSD',
  }
}
