import { splitRevenue } from '@rma/core'
import { AbiCoder, keccak256, toBeHex } from 'ethers'
import { describe, expect, test } from 'vitest'
import { expectRevert, mined, settleArgs, useSettlementFixture } from '../test/helpers.js'

const shares = { issuerBps: 6000, supportersBps: 2500, usersBps: 1500, protocolBps: 0 }
const MAX_STAKE = 2n ** 96n - 1n
const MAX_AMOUNT = 2n ** 112n - 1n

describe('L1: no rounding loses a whole share', () => {
  for (const decimals of [6, 18]) {
    const ctx = useSettlementFixture({ shares, decimals, mint: 2n ** 100n })

    test(`${decimals} decimals: tiny shares over a huge stake all reach the supporters`, async () => {
      const { settlement, assetId, settler, others } = ctx.fx
      const [alice, bob] = [others[0]!, others[1]!]
      // Close to the stake bound: 7.9e28 units (79 billion tokens at 18 decimals).
      const [a, b] = [5n * 10n ** 27n, 7n * 10n ** 28n]
      await mined(settlement.connect(alice).stake(assetId, a))
      await mined(settlement.connect(bob).stake(assetId, b))
      await mined(settlement.connect(settler).settle(...settleArgs(assetId, 1, 0n)))
      // The audit's case: a supporters' share of ~7.9e10 units, which a 1e18 accumulator
      // rounded to 0 over this stake; and the smallest share there is, 1 unit.
      const revenues = [316_000_000_000n, 4n, 4n, 4n, 316_000_000_003n]
      let funded = 0n
      for (const [i, revenue] of revenues.entries()) {
        await mined(settlement.connect(settler).settle(...settleArgs(assetId, i + 2, revenue)))
        funded += splitRevenue(revenue, shares).supporters
      }
      const claimable =
        (await settlement.claimableRewards(assetId, alice.address)) +
        (await settlement.claimableRewards(assetId, bob.address))
      const asset = await settlement.getAsset(assetId)
      expect(asset.supportersFunded).toBe(funded)
      // At most one unit per supporter is floor dust (it stays with the role, owed).
      expect(claimable).toBeGreaterThanOrEqual(funded - 2n)
      expect(claimable).toBeLessThanOrEqual(funded)
      expect(asset.rewardPerStake).toBeGreaterThan(0n)
    })
  }
})

describe('L2: overflow bounds, tested at their edges', () => {
  const ctx = useSettlementFixture({ shares, mint: 2n ** 120n })

  test('stake per asset is bounded at 2^96 - 1 units', async () => {
    const { settlement, assetId, others } = ctx.fx
    await mined(settlement.connect(others[0]!).stake(assetId, MAX_STAKE - 1n))
    await mined(settlement.connect(others[1]!).stake(assetId, 1n))
    await expectRevert(settlement.connect(others[1]!).stake(assetId, 1n), 'AmountTooLarge', [
      MAX_STAKE,
    ])
    // Activated at the bound, settles keep going (the accumulator grows by at most 1e36 each).
    await mined(ctx.fx.settlement.connect(ctx.fx.settler).settle(...settleArgs(assetId, 1, 0n)))
    await mined(
      ctx.fx.settlement.connect(ctx.fx.settler).settle(...settleArgs(assetId, 2, 2n ** 98n)),
    )
    expect((await settlement.getAsset(assetId)).totalStake).toBe(MAX_STAKE)
    // Rewards past 2^96 (the width of a supporter's credited rewards): changing stake asks to
    // claim first, and the claim pays them all.
    await mined(
      ctx.fx.settlement.connect(ctx.fx.settler).settle(...settleArgs(assetId, 3, 2n ** 98n)),
    )
    const big = others[0]!
    const owed = await settlement.claimableRewards(assetId, big.address)
    expect(owed).toBeGreaterThan(MAX_STAKE)
    await expectRevert(settlement.connect(big).requestUnstake(assetId, 1n), 'AmountTooLarge', [
      MAX_STAKE,
    ])
    const before = await ctx.fx.token.balanceOf(big.address)
    await mined(settlement.connect(big).claimRewards(assetId))
    expect(await ctx.fx.token.balanceOf(big.address)).toBe(before + owed)
    await mined(settlement.connect(big).requestUnstake(assetId, 1n))
  })

  test('one batch: revenue up to 2^112 - 1, users’ share up to 2^96 - 1; a refused batch bricks nothing', async () => {
    const { settlement, assetId, settler } = ctx.fx
    const s = settlement.connect(settler)
    await expectRevert(s.settle(...settleArgs(assetId, 1, MAX_AMOUNT + 1n)), 'AmountTooLarge', [
      MAX_AMOUNT,
    ])
    // The largest revenue whose users' share fits 96 bits, and one unit... of share more.
    const fits = ((MAX_STAKE + 1n) * 10_000n) / 1_500n - 1n
    expect(splitRevenue(fits, shares).users).toBe(MAX_STAKE)
    const over = fits + 7n
    expect(splitRevenue(over, shares).users).toBe(MAX_STAKE + 1n)
    await expectRevert(s.settle(...settleArgs(assetId, 1, over)), 'AmountTooLarge', [MAX_STAKE])
    await mined(s.settle(...settleArgs(assetId, 1, fits)))
    expect((await settlement.epochRebates(assetId, 1)).remaining).toBe(MAX_STAKE)
    await mined(s.settle(...settleArgs(assetId, 2, 1_000n)))
  })

  test('1 unit staked under a huge batch: the accumulator grows by exactly 1e36', async () => {
    const { settlement, assetId, settler, others } = ctx.fx
    await mined(settlement.connect(others[0]!).stake(assetId, 1n))
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 1, 0n)))
    for (const epoch of [2, 3])
      await mined(settlement.connect(settler).settle(...settleArgs(assetId, epoch, 2n ** 98n)))
    const asset = await settlement.getAsset(assetId)
    expect(asset.rewardPerStake).toBe(2n * 10n ** 36n)
    expect(asset.heldForSupporters).toBe(2n * (2n ** 98n / 4n) - 2n)
  })

  test('cumulative counters wrap modulo 2^112 without bricking a settle or losing a unit', async () => {
    const { settlement, assetId, settler, settlementAddress, issuer, token } = ctx.fx
    // Put the issuer's funded and claimed counters 10 units below the wrap (owed 0).
    const base = BigInt(
      keccak256(AbiCoder.defaultAbiCoder().encode(['bytes32', 'uint256'], [assetId, 1])),
    )
    const near = MAX_AMOUNT - 9n
    const provider = ctx.anvil.provider
    await provider.send('anvil_setStorageAt', [
      settlementAddress,
      toBeHex(base + 1n),
      toBeHex(near << 32n, 32),
    ])
    await provider.send('anvil_setStorageAt', [
      settlementAddress,
      toBeHex(base + 8n),
      toBeHex(near, 32),
    ])
    let asset = await settlement.getAsset(assetId)
    expect([asset.issuerFunded, asset.issuerClaimed, asset.issuerOwed]).toEqual([near, near, 0n])
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 1, 1_000n)))
    asset = await settlement.getAsset(assetId)
    expect(asset.issuerFunded).toBe(600n - 10n) // wrapped
    expect(asset.issuerOwed).toBe(600n)
    const before = await token.balanceOf(issuer.address)
    await mined(settlement.claimIssuer(assetId))
    expect(await token.balanceOf(issuer.address)).toBe(before + 600n)
    expect((await settlement.getAsset(assetId)).issuerOwed).toBe(0n)
  })
})
