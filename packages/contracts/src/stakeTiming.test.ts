import { splitRevenue } from '@rma/core'
import { describe, expect, test } from 'vitest'
import { addAsset, expectRevert, mined, settleArgs, useSettlementFixture } from '../test/helpers.js'

// The audit's numbers: an honest 10,000 USDC staked, a 250 USDC supporters' share per batch.
const USDC = 1_000_000n
const shares = { issuerBps: 6000, supportersBps: 2500, usersBps: 1500, protocolBps: 0 }
const week = 7 * 24 * 3600
const ctx = useSettlementFixture({ shares, unbondingDelay: week, mint: 10n ** 13n })

async function settle(assetId: string, revenue: bigint, settler = ctx.fx.settler) {
  const { epoch } = await ctx.fx.settlement.getAsset(assetId)
  return mined(
    ctx.fx.settlement.connect(settler).settle(...settleArgs(assetId, epoch + 1n, revenue)),
  )
}

/**
 * The attack on an asset: an honest supporter has 10,000 USDC active; the attacker stakes
 * 990,000 USDC one block before a settle of 1,000 USDC (250 USDC to supporters), then asks to
 * unstake right after it. Returns what each could claim after that settle.
 */
async function justInTime(assetId: string) {
  const { settlement, others } = ctx.fx
  const [honest, attacker] = [others[0]!, others[1]!]
  await mined(settlement.connect(honest).stake(assetId, 10_000n * USDC))
  await settle(assetId, 0n) // activates the honest stake
  await mined(settlement.connect(attacker).stake(assetId, 990_000n * USDC))
  await settle(assetId, 1_000n * USDC)
  await mined(settlement.connect(attacker).requestUnstake(assetId, 990_000n * USDC))
  return {
    honest,
    attacker,
    honestShare: await settlement.claimableRewards(assetId, honest.address),
    attackerShare: await settlement.claimableRewards(assetId, attacker.address),
  }
}

describe('H2: stake earns only for time at risk', () => {
  test('delay 0 is refused at registration (the free, every-batch variant of the attack)', async () => {
    const { settlement, tokenAddress, others } = ctx.fx
    await expectRevert(
      settlement
        .connect(others[2]!)
        .registerAsset(
          `0x${'01'.repeat(32)}`,
          tokenAddress,
          others[2]!.address,
          7500,
          2500,
          0,
          0,
          0,
          [],
        ),
      'InvalidUnbondingDelay',
    )
  })

  test('7-day delay: a stake placed one block before settle takes none of that batch', async () => {
    const { settlement, assetId } = ctx.fx
    const { honestShare, attackerShare, attacker } = await justInTime(assetId)
    const batchShare = splitRevenue(1_000n * USDC, shares).supporters
    expect(batchShare).toBe(250n * USDC)
    expect(attackerShare).toBe(0n)
    expect(honestShare).toBe(batchShare)
    // The attacker's stake is locked for the full week with nothing to show for it.
    await expectRevert(settlement.connect(attacker)['withdraw(bytes32)'](assetId), 'StillUnbonding')
    await expectRevert(settlement.connect(attacker).claimRewards(assetId), 'NothingToClaim')
    await ctx.anvil.increaseTime(week)
    await mined(settlement.connect(attacker)['withdraw(bytes32)'](assetId))
    await expectRevert(settlement.connect(attacker).claimRewards(assetId), 'NothingToClaim')
  })

  test('1-day delay (the minimum): the same attack takes none of that batch either', async () => {
    const { others } = ctx.fx
    const assetId = await addAsset(ctx.fx, {
      issuer: others[3]!,
      settler: ctx.fx.settler,
      unbondingDelay: 24 * 3600,
    })
    const { honestShare, attackerShare } = await justInTime(assetId)
    expect(attackerShare).toBe(0n)
    expect(honestShare).toBe(250n * USDC)
  })

  test('stake that sits through a whole epoch earns from the settle after it', async () => {
    const { settlement, assetId, others } = ctx.fx
    const [honest, patient] = [others[0]!, others[1]!]
    await mined(settlement.connect(honest).stake(assetId, 1_000n * USDC))
    await settle(assetId, 0n)
    await mined(settlement.connect(patient).stake(assetId, 3_000n * USDC))
    await settle(assetId, 1_000n * USDC) // patient is pending: all 250 to honest
    await settle(assetId, 1_000n * USDC) // 250 split 1:3
    expect(await settlement.claimableRewards(assetId, honest.address)).toBe(312_500_000n)
    expect(await settlement.claimableRewards(assetId, patient.address)).toBe(187_500_000n)
  })

  test('pending stake can be unstaked before it activates, and never earns', async () => {
    const { settlement, assetId, others } = ctx.fx
    const [honest, flaky] = [others[0]!, others[1]!]
    await mined(settlement.connect(honest).stake(assetId, 1_000n * USDC))
    await settle(assetId, 0n)
    await mined(settlement.connect(flaky).stake(assetId, 5_000n * USDC))
    await mined(settlement.connect(flaky).requestUnstake(assetId, 5_000n * USDC))
    const asset = await settlement.getAsset(assetId)
    expect([asset.totalStake, asset.pendingStake, asset.totalUnbonding]).toEqual([
      1_000n * USDC,
      0n,
      5_000n * USDC,
    ])
    await settle(assetId, 1_000n * USDC)
    await settle(assetId, 1_000n * USDC)
    expect(await settlement.claimableRewards(assetId, flaky.address)).toBe(0n)
    expect(await settlement.claimableRewards(assetId, honest.address)).toBe(500n * USDC)
  })
})
