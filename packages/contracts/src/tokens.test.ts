import { type Address, splitRevenue } from '@rma/core'
import { MaxUint256 } from 'ethers'
import { describe, expect, test } from 'vitest'
import {
  addAsset,
  argsOf,
  claimArgs,
  epochTree,
  eventsOf,
  expectRevert,
  mined,
  settleArgs,
  useSettlementFixture,
} from '../test/helpers.js'
import type { RmaSettlementContract, TestTokenContract } from './types.js'

const shares = { issuerBps: 6000, supportersBps: 2500, usersBps: 1500, protocolBps: 0 }

/** The contract's balance and the sum of the ledgers of the listed assets (all of the token). */
async function books(settlement: RmaSettlementContract, token: TestTokenContract, ids: string[]) {
  const address = await settlement.getAddress()
  const ledgers = await Promise.all(ids.map((id) => settlement.ledgerOf(id)))
  return { balance: await token.balanceOf(address), owed: ledgers.reduce((a, b) => a + b, 0n) }
}

const sorted = (ids: string[]) => [...ids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))

describe('M2: a fee-on-transfer token (1%) shared by two assets', () => {
  const ctx = useSettlementFixture({ shares, tokenKind: 'feeOnTransfer' })

  test('credits what arrived, and the attacker’s asset cannot drain the honest one', async () => {
    const { settlement, token, assetId, settler, issuer, others } = ctx.fx
    const [supporter, attacker, user] = [others[0]!, others[1]!, others[2]!]
    // The honest asset: a supporter stakes 1,000,000 (990,000 arrives) and a batch settles.
    const staked = await mined(settlement.connect(supporter).stake(assetId, 1_000_000n))
    expect(argsOf(eventsOf(settlement, staked, 'Staked')[0]).amount).toBe(990_000n)
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 1, 0n)))
    const userTree = epochTree([[user.address as Address, 14_850n]])
    const settled = await mined(
      settlement.connect(settler).settle(...settleArgs(assetId, 2, 100_000n, userTree.root)),
    )
    // 100,000 sent, 99,000 arrived: the split is of what arrived.
    const split = splitRevenue(99_000n, shares)
    expect(argsOf(eventsOf(settlement, settled, 'Settled')[0]).revenue).toBe(99_000n)
    expect((await settlement.getAsset(assetId)).issuerOwed).toBe(split.issuer)

    // The attacker's asset in the same token: it settles, stakes and pulls out everything it
    // can, through every role it controls.
    const honestLedger = await settlement.ledgerOf(assetId)
    const evil = await addAsset(ctx.fx, { issuer: attacker, settler: attacker })
    // A root promising the face-value users' share (150) cannot be paid: 990 arrived, 148 funded.
    const greedy = epochTree([[attacker.address as Address, 150n]])
    await mined(settlement.connect(attacker).settle(...settleArgs(evil, 1, 1_000n, greedy.root)))
    await expectRevert(
      settlement
        .connect(attacker)
        .claimRebate(...claimArgs(evil, 1, greedy, attacker.address as Address)),
      'RebatesExceedFunded',
      [1n],
    )
    const loot = epochTree([[attacker.address as Address, 148n]])
    await mined(settlement.connect(attacker).settle(...settleArgs(evil, 2, 1_000n, loot.root)))
    await mined(settlement.connect(attacker).claimIssuer(evil))
    await mined(
      settlement
        .connect(attacker)
        .claimRebate(...claimArgs(evil, 2, loot, attacker.address as Address)),
    )
    await mined(settlement.connect(attacker).stake(evil, 500_000n))
    await mined(settlement.connect(attacker).requestUnstake(evil, 495_000n))
    await ctx.anvil.increaseTime(ctx.fx.unbondingDelay)
    await mined(settlement.connect(attacker)['withdraw(bytes32)'](evil))
    // It cannot take one unit more than its asset holds.
    await expectRevert(settlement.connect(attacker)['withdraw(bytes32)'](evil), 'NothingToWithdraw')
    await expectRevert(settlement.connect(attacker).claimIssuer(evil), 'NothingToClaim')

    // The honest asset's books did not move; the attacker's asset owes what it still holds.
    expect(await settlement.ledgerOf(assetId)).toBe(honestLedger)
    const ids = sorted([assetId, evil])
    const { balance, owed } = await books(settlement, token, ids)
    expect(balance >= owed).toBe(true)
    // The honest asset's roles all claim in full.
    const honest = await settlement.getAsset(assetId)
    const claimed = await mined(settlement.claimIssuer(assetId))
    expect(argsOf(eventsOf(settlement, claimed, 'IssuerClaimed')[0]).amount).toBe(honest.issuerOwed)
    await mined(settlement.claimRebate(...claimArgs(assetId, 2, userTree, user.address as Address)))
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 3, 0n)))
    await mined(settlement.connect(supporter).claimRewards(assetId))
    await mined(settlement.connect(supporter).requestUnstake(assetId, 990_000n))
    await ctx.anvil.increaseTime(ctx.fx.unbondingDelay)
    await mined(settlement.connect(supporter)['withdraw(bytes32)'](assetId))
    const after = await settlement.getAsset(assetId)
    expect(after.issuerOwed).toBe(0n)
    expect(after.totalStake + after.totalUnbonding).toBe(0n)
    const end = await books(settlement, token, ids)
    expect(end.balance >= end.owed).toBe(true)
    void issuer
  })

  test('a deposit is credited as measured and pays batches exactly', async () => {
    const { settlement, token, assetId, settler } = ctx.fx
    await mined(token.connect(settler).approve(ctx.fx.settlementAddress, MaxUint256))
    await mined(settlement.connect(settler).deposit(assetId, 100_000n))
    expect(await settlement.depositOf(assetId, settler.address)).toBe(99_000n)
    const receipt = await mined(
      settlement.connect(settler).settle(...settleArgs(assetId, 1, 50_000n)),
    )
    // Taken from the deposit: no transfer, no fee, the full 50,000 credited.
    expect(argsOf(eventsOf(settlement, receipt, 'Settled')[0]).revenue).toBe(50_000n)
    expect(await settlement.depositOf(assetId, settler.address)).toBe(49_000n)
    await expectRevert(
      settlement.connect(settler).withdrawDeposit(assetId, 49_001n),
      'InsufficientDeposit',
      [49_000n],
    )
    await mined(settlement.connect(settler).withdrawDeposit(assetId, 49_000n))
    const { balance, owed } = await books(settlement, token, [assetId])
    expect(balance >= owed).toBe(true)
    expect((await settlement.getAsset(assetId)).deposits).toBe(0n)
  })
})

describe('M2: a rebasing token (±10%) shared by two assets', () => {
  const ctx = useSettlementFixture({ shares, tokenKind: 'rebasing' })

  async function twoAssets() {
    const { settlement, token, assetId, settler, others } = ctx.fx
    const [supporter, issuer2, settler2] = [others[0]!, others[1]!, others[2]!]
    const second = await addAsset(ctx.fx, { issuer: issuer2, settler: settler2 })
    await mined(settlement.connect(supporter).stake(assetId, 1_000_000n))
    await mined(settlement.connect(supporter).stake(second, 2_000_000n))
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 1, 400_000n)))
    await mined(settlement.connect(settler2).settle(...settleArgs(second, 1, 800_000n)))
    return { ids: sorted([assetId, second]), second, supporter, token }
  }

  test('+10%: the surplus is skimmed by the owner; both assets still pay in full', async () => {
    const { settlement, assetId, owner, others } = ctx.fx
    const { ids, second, token } = await twoAssets()
    const before = await books(settlement, token, ids)
    expect(before.balance - before.owed).toBeLessThanOrEqual(2n) // share rounding of transfers
    await mined(token.rebase(1_000n))
    const grown = await books(settlement, token, ids)
    expect(grown.owed).toBe(before.owed)
    const surplus = grown.balance - grown.owed
    expect(surplus).toBeGreaterThan(before.owed / 11n)
    // Only the owner, and only with the complete list of the token's assets, ascending.
    const treasury = others[5]!
    await expectRevert(
      settlement.connect(treasury).skim(await token.getAddress(), treasury.address, ids),
      'OwnableUnauthorizedAccount',
    )
    await expectRevert(
      settlement.connect(owner).skim(await token.getAddress(), treasury.address, [assetId]),
      'IncompleteAssetList',
      [2n],
    )
    await expectRevert(
      settlement
        .connect(owner)
        .skim(await token.getAddress(), treasury.address, [ids[0]!, ids[0]!]),
      'IncompleteAssetList',
      [2n],
    )
    const receipt = await mined(
      settlement.connect(owner).skim(await token.getAddress(), treasury.address, ids),
    )
    expect(argsOf(eventsOf(settlement, receipt, 'Skimmed')[0]).amount).toBe(surplus)
    const after = await books(settlement, token, ids)
    expect(after.balance - after.owed).toBeLessThanOrEqual(1n)
    await expectRevert(
      settlement.connect(owner).skim(await token.getAddress(), treasury.address, ids),
      'NothingToSkim',
    )
    // Every role of both assets is still paid what it is owed.
    await mined(settlement.claimIssuer(assetId))
    await mined(settlement.claimIssuer(second))
    const end = await books(settlement, token, ids)
    expect(end.balance >= end.owed).toBe(true)
  })

  test('−10%: the shortfall shows in the books, skim refuses, a top-up restores every claim', async () => {
    const { settlement, assetId, owner, others, settler } = ctx.fx
    const { ids, second, token, supporter } = await twoAssets()
    await mined(token.rebase(-1_000n))
    const short = await books(settlement, token, ids)
    expect(short.balance < short.owed).toBe(true)
    await expectRevert(
      settlement.connect(owner).skim(await token.getAddress(), owner.address, ids),
      'NothingToSkim',
    )
    // Documented way out: anyone tops the contract up by a plain transfer of the shortfall.
    await mined(token.mint(settler.address, short.owed - short.balance + 10n))
    await mined(
      token.connect(settler).transfer(ctx.fx.settlementAddress, short.owed - short.balance + 10n),
    )
    await mined(settlement.claimIssuer(assetId))
    await mined(settlement.claimIssuer(second))
    for (const id of [assetId, second]) {
      const { totalStake, pendingStake } = await settlement.getAsset(id)
      await mined(settlement.connect(supporter).requestUnstake(id, totalStake + pendingStake))
    }
    await ctx.anvil.increaseTime(ctx.fx.unbondingDelay)
    await mined(settlement.connect(supporter)['withdraw(bytes32)'](assetId))
    await mined(settlement.connect(supporter)['withdraw(bytes32)'](second))
    const end = await books(settlement, token, ids)
    expect(end.balance >= end.owed).toBe(true)
    void others
  })
})

describe('stranded tokens', () => {
  const ctx = useSettlementFixture({ shares })

  test('tokens sent to the contract directly are skimmed; what is owed is not', async () => {
    const { settlement, token, assetId, owner, others, settler } = ctx.fx
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 1, 10_000n)))
    await mined(token.connect(others[0]!).transfer(ctx.fx.settlementAddress, 777n))
    const receipt = await mined(
      settlement.connect(owner).skim(ctx.fx.tokenAddress, others[1]!.address, [assetId]),
    )
    expect(argsOf(eventsOf(settlement, receipt, 'Skimmed')[0]).amount).toBe(777n)
    expect(await token.balanceOf(ctx.fx.settlementAddress)).toBe(10_000n)
    expect(await settlement.ledgerOf(assetId)).toBe(10_000n)
  })
})
