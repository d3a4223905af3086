import type { RevenueShares } from '@rma/core'
import { keccak256, MaxUint256, toUtf8Bytes, type Wallet } from 'ethers'
import { deploySettlement } from '../deploySettlement.js'
import { deployTestToken } from '../deployTestToken.js'
import type { TestTokenKind } from '../getTestTokenContract.js'
import { registerAsset } from '../registerAsset.js'
import type { RmaSettlementContract, TestTokenContract } from '../types.js'
import type { Anvil } from './startAnvil.js'

export type DeploySettlementFixtureParameters = {
  /** Revenue shares of the asset (default issuer 6000, supporters 2500, users 1500, protocol 0). */
  shares?: RevenueShares
  /** Unbonding delay in seconds (default 7 days). */
  unbondingDelay?: number
  /** The issuer's salt of the asset (default keccak256("rma:test-asset")). */
  salt?: string
  /** The payment token (default `plain`, see `deployTestToken`). */
  tokenKind?: TestTokenKind
  /** Token base units minted to the settler and to every other account (default 1e15). */
  mint?: bigint
  /** Token decimals (default 6). */
  decimals?: number
  /** The deployment's `minChallengeWindow` in seconds (default 0). */
  minChallengeWindow?: number
  /** The asset's challenge window in seconds, set by its issuer (default: the minimum). */
  challengeWindow?: number
}

/** A settlement contract with one registered asset, on a running anvil. */
export type SettlementFixture = {
  /** `assetIdOf(issuer, salt)`. */
  assetId: string
  salt: string
  shares: RevenueShares
  unbondingDelay: number
  settlement: RmaSettlementContract
  settlementAddress: string
  token: TestTokenContract
  tokenAddress: string
  /** Account 0: deployed both contracts; owner of the settlement (protocol fee recipient). */
  owner: Wallet
  /** Account 1: registered the asset. */
  issuer: Wallet
  /** Account 2: the asset's settler; holds tokens and has approved the settlement contract. */
  settler: Wallet
  /** Account 3: the asset's authorised meter key. */
  meter: Wallet
  /** Accounts 4 and up: hold tokens and have approved the settlement contract. */
  others: Wallet[]
}

/**
 * Deploys the test token and the settlement contract on anvil, registers an asset, and funds and
 * approves the settler and every spare account: the starting point of tests, examples and
 * benchmarks that need a chain.
 *
 * @example
 * const anvil = await startAnvil()
 * const { settlement, assetId, settler, others: [alice] } = await deploySettlementFixture(anvil)
 * await (await settlement.connect(alice).stake(assetId, 1_000_000n)).wait()
 */
export async function deploySettlementFixture(
  anvil: Anvil,
  parameters: DeploySettlementFixtureParameters = {},
): Promise<SettlementFixture> {
  const {
    shares = { issuerBps: 6000, supportersBps: 2500, usersBps: 1500, protocolBps: 0 },
    unbondingDelay = 7 * 24 * 3600,
    salt = keccak256(toUtf8Bytes('rma:test-asset')),
    tokenKind = 'plain',
    mint = 10n ** 15n,
    decimals = 6,
    minChallengeWindow = 0,
    challengeWindow,
  } = parameters
  const [owner, issuer, settler, meter, ...others] = anvil.accounts
  if (!owner || !issuer || !settler || !meter)
    throw new Error('The settlement fixture needs at least 4 anvil accounts.')
  const { contract: token, address: tokenAddress } = await deployTestToken(owner, {
    decimals,
    kind: tokenKind,
  })
  const { contract: settlement, address: settlementAddress } = await deploySettlement(owner, {
    minChallengeWindow,
  })
  const { assetId } = await registerAsset(settlement.connect(issuer), {
    salt,
    token: tokenAddress,
    settler: settler.address,
    ...shares,
    unbondingDelay,
    meters: [meter.address],
  })
  if (challengeWindow !== undefined)
    await (await settlement.connect(issuer).setChallengeWindow(assetId, challengeWindow)).wait()
  // Send everything first and wait once: anvil mines each transaction as it arrives.
  const pending = []
  for (const wallet of [settler, ...others]) {
    pending.push(await token.mint(wallet.address, mint))
    pending.push(await token.connect(wallet).approve(settlementAddress, MaxUint256))
  }
  await Promise.all(pending.map((tx) => tx.wait()))
  return {
    assetId,
    salt,
    shares,
    unbondingDelay,
    settlement,
    settlementAddress,
    token,
    tokenAddress,
    owner,
    issuer,
    settler,
    meter,
    others,
  }
}
