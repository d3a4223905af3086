import { keccak256 } from 'ethers'
import { describe, expect, test } from 'vitest'
import {
  argsOf,
  eventsOf,
  expectRevert,
  mined,
  settleArgs,
  useSettlementFixture,
} from '../test/helpers.js'

// Supporters get 25% of revenue; a day of unbonding.
const shares = { issuerBps: 6000, supportersBps: 2500, usersBps: 1500, protocolBps: 0 }
const unbondingDelay = 86_400
const ctx = useSettlementFixture({ shares, unbondingDelay })

const supporters = () => ctx.fx.others.slice(0, 3) as [Wallet, Wallet, Wallet]
type Wallet = (typeof ctx)['fx']['others'][number]

let epoch = 0
async function settle(revenue: bigint) {
  const { settlement, assetId, settler } = ctx.fx
  const { epoch: last } = await settlement.getAsset(assetId)
  epoch = Number(last) + 1
  return mined(settlement.connect(settler).settle(...settleArgs(assetId, epoch, revenue)))
}

async function blockTime(): Promise<bigint> {
  const block = await ctx.anvil.provider.getBlock('latest')
  return BigInt(block!.timestamp)
}

describe('stake', () => {
  test('pulls the tokens, records active stake and emits Staked', async () => {
    const { settlement, settlementAddress, assetId, token } = ctx.fx
    const [alice] = supporters()
    const before = await token.balanceOf(alice.address)
    const receipt = await mined(settlement.connect(alice).stake(assetId, 1_000n))
    expect(argsOf(eventsOf(settlement, receipt, 'Staked')[0])).toEqual({
      assetId,
      supporter: alice.address,
      amount: 1_000n,
      activationEpoch: 1n,
    })
    await mined(settlement.connect(alice).stake(assetId, 500n))
    expect(await token.balanceOf(alice.address)).toBe(before - 1_500n)
    expect(await token.balanceOf(settlementAddress)).toBe(1_500n)
    // Pending until the next settle, which activates it.
    expect([...(await settlement.pendingStakeOf(assetId, alice.address))]).toEqual([1_500n, 1n])
    let stake = await settlement.stakeOf(assetId, alice.address)
    expect([stake.active, stake.unbonding, stake.unbondingEnd]).toEqual([0n, 0n, 0n])
    expect((await settlement.getAsset(assetId)).pendingStake).toBe(1_500n)
    await settle(0n)
    expect([...(await settlement.pendingStakeOf(assetId, alice.address))]).toEqual([0n, 0n])
    stake = await settlement.stakeOf(assetId, alice.address)
    expect([stake.active, stake.unbonding, stake.unbondingEnd]).toEqual([1_500n, 0n, 0n])
    const asset = await settlement.getAsset(assetId)
    expect([asset.totalStake, asset.pendingStake]).toEqual([1_500n, 0n])
  })

  test('reverts ZeroAmount for 0 and UnknownAsset for an unregistered asset', async () => {
    const { settlement, assetId } = ctx.fx
    const [alice] = supporters()
    await expectRevert(settlement.connect(alice).stake(assetId, 0n), 'ZeroAmount')
    await expectRevert(settlement.connect(alice).stake(keccak256('0x01'), 1n), 'UnknownAsset')
  })

  test('rewards are pro rata to active stake at settlement time', async () => {
    const { settlement, assetId } = ctx.fx
    const [alice, bob] = supporters()
    await mined(settlement.connect(alice).stake(assetId, 1_000_000n))
    await mined(settlement.connect(bob).stake(assetId, 3_000_000n))
    await settle(0n) // activates both
    await settle(4_000_000n) // supporters: 1,000,000
    expect(await settlement.claimableRewards(assetId, alice.address)).toBe(250_000n)
    expect(await settlement.claimableRewards(assetId, bob.address)).toBe(750_000n)
  })

  test('new stake earns only from the settlement after the next one', async () => {
    const { settlement, assetId } = ctx.fx
    const [alice, bob] = supporters()
    await mined(settlement.connect(alice).stake(assetId, 1_000_000n))
    await settle(0n) // activates alice
    await settle(4_000_000n) // 1,000,000 to alice alone
    await mined(settlement.connect(bob).stake(assetId, 1_000_000n))
    expect(await settlement.claimableRewards(assetId, bob.address)).toBe(0n)
    await settle(4_000_000n) // still all to alice; bob activates after it
    expect(await settlement.claimableRewards(assetId, alice.address)).toBe(2_000_000n)
    expect(await settlement.claimableRewards(assetId, bob.address)).toBe(0n)
    await settle(4_000_000n) // 1,000,000 split evenly
    expect(await settlement.claimableRewards(assetId, alice.address)).toBe(2_500_000n)
    expect(await settlement.claimableRewards(assetId, bob.address)).toBe(500_000n)
    // Adding to an existing stake keeps what was earned; the addition earns one settle later.
    await mined(settlement.connect(alice).stake(assetId, 2_000_000n))
    expect(await settlement.claimableRewards(assetId, alice.address)).toBe(2_500_000n)
    await settle(4_000_000n) // evenly again
    expect(await settlement.claimableRewards(assetId, alice.address)).toBe(3_000_000n)
    await settle(4_000_000n) // alice 3/4, bob 1/4
    expect(await settlement.claimableRewards(assetId, alice.address)).toBe(3_750_000n)
    expect(await settlement.claimableRewards(assetId, bob.address)).toBe(1_250_000n)
  })

  test('per-supporter rounding dust stays with the supporters role', async () => {
    const { settlement, assetId } = ctx.fx
    const [alice, bob, carol] = supporters()
    for (const s of [alice, bob, carol]) await mined(settlement.connect(s).stake(assetId, 1n))
    await settle(0n)
    await settle(4n) // supporters: 1 unit over 3 supporters of 1 unit each
    const claimable = await Promise.all(
      [alice, bob, carol].map((s) => settlement.claimableRewards(assetId, s.address)),
    )
    expect(claimable).toEqual([0n, 0n, 0n])
    const asset = await settlement.getAsset(assetId)
    expect(asset.supportersFunded - asset.supportersClaimed).toBe(1n)
    // 2 more: each has earned 0.999… units, still floored to 0.
    await settle(8n)
    expect(await settlement.claimableRewards(assetId, alice.address)).toBe(0n)
    await settle(4n) // 1 more: 1.33… each, so 1 each; 1 of the 4 funded stays as dust
    const after = await Promise.all(
      [alice, bob, carol].map((s) => settlement.claimableRewards(assetId, s.address)),
    )
    expect(after).toEqual([1n, 1n, 1n])
    expect((await settlement.getAsset(assetId)).supportersFunded).toBe(4n)
    // The last unit's thirds are in the accumulator (scale 1e36): 3 × floor(1e36 / 3) of 1e36.
    expect((await settlement.getAsset(assetId)).rewardPerStake).toBe(4n * (10n ** 36n / 3n))
  })
})

describe('requestUnstake and withdraw', () => {
  test('moves active to unbonding, which stops earning at once', async () => {
    const { settlement, assetId } = ctx.fx
    const [alice, bob] = supporters()
    await mined(settlement.connect(alice).stake(assetId, 1_000_000n))
    await mined(settlement.connect(bob).stake(assetId, 1_000_000n))
    await settle(0n)
    await settle(4_000_000n) // 500,000 each
    const receipt = await mined(settlement.connect(alice).requestUnstake(assetId, 600_000n))
    const end = (await blockTime()) + BigInt(unbondingDelay)
    expect(argsOf(eventsOf(settlement, receipt, 'UnstakeRequested')[0])).toEqual({
      assetId,
      supporter: alice.address,
      amount: 600_000n,
      unbondingEnd: end,
    })
    const stake = await settlement.stakeOf(assetId, alice.address)
    expect([stake.active, stake.unbonding, stake.unbondingEnd]).toEqual([400_000n, 600_000n, end])
    const asset = await settlement.getAsset(assetId)
    expect([asset.totalStake, asset.totalUnbonding]).toEqual([1_400_000n, 600_000n])
    await settle(5_600_000n) // 1,400,000: alice 400/1400, bob 1000/1400
    expect(await settlement.claimableRewards(assetId, alice.address)).toBe(500_000n + 400_000n)
    expect(await settlement.claimableRewards(assetId, bob.address)).toBe(500_000n + 1_000_000n)
  })

  test('a further request adds to unbonding and restarts the delay', async () => {
    const { settlement, assetId } = ctx.fx
    const [alice] = supporters()
    await mined(settlement.connect(alice).stake(assetId, 1_000n))
    await mined(settlement.connect(alice).requestUnstake(assetId, 100n))
    const firstEnd = (await settlement.stakeOf(assetId, alice.address)).unbondingEnd
    await ctx.anvil.increaseTime(unbondingDelay - 100)
    await mined(settlement.connect(alice).requestUnstake(assetId, 200n))
    const stake = await settlement.stakeOf(assetId, alice.address)
    expect(stake.unbonding).toBe(300n)
    expect(stake.unbondingEnd).toBe((await blockTime()) + BigInt(unbondingDelay))
    expect(stake.unbondingEnd).toBeGreaterThan(firstEnd)
    // The first request's delay has passed, but the restart holds everything.
    await ctx.anvil.increaseTime(200)
    await expectRevert(settlement.connect(alice)['withdraw(bytes32)'](assetId), 'StillUnbonding')
  })

  test('reverts ZeroAmount and InsufficientStake', async () => {
    const { settlement, assetId } = ctx.fx
    const [alice] = supporters()
    await expectRevert(settlement.connect(alice).requestUnstake(assetId, 0n), 'ZeroAmount')
    await expectRevert(settlement.connect(alice).requestUnstake(assetId, 1n), 'InsufficientStake')
    await mined(settlement.connect(alice).stake(assetId, 10n))
    await mined(settlement.connect(alice).requestUnstake(assetId, 4n))
    await expectRevert(settlement.connect(alice).requestUnstake(assetId, 7n), 'InsufficientStake')
  })

  test('withdraw pays everything unbonding once the delay has passed', async () => {
    const { settlement, settlementAddress, assetId, token } = ctx.fx
    const [alice] = supporters()
    await expectRevert(settlement.connect(alice)['withdraw(bytes32)'](assetId), 'NothingToWithdraw')
    await mined(settlement.connect(alice).stake(assetId, 1_000n))
    await settle(0n)
    await mined(settlement.connect(alice).requestUnstake(assetId, 700n))
    await expectRevert(settlement.connect(alice)['withdraw(bytes32)'](assetId), 'StillUnbonding')
    await ctx.anvil.increaseTime(unbondingDelay - 10)
    await expectRevert(settlement.connect(alice)['withdraw(bytes32)'](assetId), 'StillUnbonding')
    await ctx.anvil.increaseTime(10)
    const before = await token.balanceOf(alice.address)
    const receipt = await mined(settlement.connect(alice)['withdraw(bytes32)'](assetId))
    expect(argsOf(eventsOf(settlement, receipt, 'Withdrawn')[0])).toEqual({
      assetId,
      supporter: alice.address,
      amount: 700n,
    })
    expect(await token.balanceOf(alice.address)).toBe(before + 700n)
    expect(await token.balanceOf(settlementAddress)).toBe(300n)
    const stake = await settlement.stakeOf(assetId, alice.address)
    expect([stake.active, stake.unbonding, stake.unbondingEnd]).toEqual([300n, 0n, 0n])
    expect((await settlement.getAsset(assetId)).totalUnbonding).toBe(0n)
    await expectRevert(settlement.connect(alice)['withdraw(bytes32)'](assetId), 'NothingToWithdraw')
  })
})

describe('claimRewards', () => {
  test('pays accrued rewards, including those earned before an unstake', async () => {
    const { settlement, assetId, token } = ctx.fx
    const [alice, bob] = supporters()
    await mined(settlement.connect(alice).stake(assetId, 1_000_000n))
    await mined(settlement.connect(bob).stake(assetId, 1_000_000n))
    await settle(0n)
    await settle(4_000_000n)
    await mined(settlement.connect(alice).requestUnstake(assetId, 1_000_000n))
    await settle(4_000_000n) // all to bob
    const before = await token.balanceOf(alice.address)
    const receipt = await mined(settlement.connect(alice).claimRewards(assetId))
    expect(argsOf(eventsOf(settlement, receipt, 'RewardsClaimed')[0])).toEqual({
      assetId,
      supporter: alice.address,
      amount: 500_000n,
    })
    expect(await token.balanceOf(alice.address)).toBe(before + 500_000n)
    expect(await settlement.claimableRewards(assetId, alice.address)).toBe(0n)
    await mined(settlement.connect(bob).claimRewards(assetId))
    const asset = await settlement.getAsset(assetId)
    expect(asset.supportersClaimed).toBe(2_000_000n)
    expect(asset.supportersFunded).toBe(2_000_000n)
  })

  test('reverts NothingToClaim when nothing is owed', async () => {
    const { settlement, assetId } = ctx.fx
    const [alice] = supporters()
    await expectRevert(settlement.connect(alice).claimRewards(assetId), 'NothingToClaim')
    await mined(settlement.connect(alice).stake(assetId, 1_000n))
    await expectRevert(settlement.connect(alice).claimRewards(assetId), 'NothingToClaim')
    await settle(4_000n) // alice is pending: the 1,000 is held
    await expectRevert(settlement.connect(alice).claimRewards(assetId), 'NothingToClaim')
    await settle(0n) // releases the held share to alice, now active
    await mined(settlement.connect(alice).claimRewards(assetId))
    await expectRevert(settlement.connect(alice).claimRewards(assetId), 'NothingToClaim')
  })
})
