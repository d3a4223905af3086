import { splitRevenue } from '@rma/core'
import { describe, expect, test } from 'vitest'
import { argsOf, eventsOf, mined, settleArgs, useSettlementFixture } from '../test/helpers.js'

const shares = { issuerBps: 6000, supportersBps: 2500, usersBps: 1500, protocolBps: 0 }
const ctx = useSettlementFixture({ shares })

async function settle(revenue: bigint) {
  const { settlement, assetId, settler } = ctx.fx
  const { epoch } = await settlement.getAsset(assetId)
  return mined(settlement.connect(settler).settle(...settleArgs(assetId, epoch + 1n, revenue)))
}

describe('M1: settlement never stops for lack of stake; dust cannot capture the held share', () => {
  test('with no stake every role but the supporters is paid; their share is held', async () => {
    const { settlement, assetId, issuer } = ctx.fx
    const receipt = await settle(1_000_000n)
    const split = splitRevenue(1_000_000n, shares)
    expect(argsOf(eventsOf(settlement, receipt, 'SupportersShareHeld')[0])).toEqual({
      assetId,
      epoch: 1n,
      held: split.supporters,
    })
    const asset = await settlement.getAsset(assetId)
    expect(asset.heldForSupporters).toBe(split.supporters)
    expect(asset.supportersFunded).toBe(split.supporters)
    expect(asset.issuerOwed).toBe(split.issuer)
    expect(asset.rebatesFunded).toBe(split.users)
    await mined(settlement.claimIssuer(assetId))
    expect((await settlement.getAsset(assetId)).issuerClaimed).toBe(split.issuer)
    expect(issuer.address).toBe(asset.issuer)
  })

  test('when the last supporter leaves, settles go on and hold the share', async () => {
    const { settlement, assetId, others } = ctx.fx
    const alice = others[0]!
    await mined(settlement.connect(alice).stake(assetId, 1_000_000n))
    await settle(0n)
    await settle(400_000n) // 100,000 to alice
    await mined(settlement.connect(alice).requestUnstake(assetId, 1_000_000n))
    await settle(400_000n)
    await settle(400_000n)
    const asset = await settlement.getAsset(assetId)
    expect(asset.epoch).toBe(4n)
    expect(asset.heldForSupporters).toBe(200_000n)
    expect(await settlement.claimableRewards(assetId, alice.address)).toBe(100_000n)
  })

  test('1 base unit staked takes at most 1 unit per settle, not the held share', async () => {
    const { settlement, assetId, others } = ctx.fx
    const [dust, honest] = [others[0]!, others[1]!]
    await settle(4_000_000n) // 1,000,000 held
    await mined(settlement.connect(dust).stake(assetId, 1n))
    await settle(0n) // activates the dust stake (after this settle's credit)
    await settle(0n) // the held share is released at most up to the active stake: 1 unit
    expect(await settlement.claimableRewards(assetId, dust.address)).toBe(1n)
    expect((await settlement.getAsset(assetId)).heldForSupporters).toBe(999_999n)
    // A real supporter arrives and, once active, takes the held share up to its stake.
    await mined(settlement.connect(honest).stake(assetId, 600_000n))
    await settle(0n) // dust takes 1 more; honest activates
    await settle(0n) // 600,001 released, pro rata to 1 : 600,000
    expect(await settlement.claimableRewards(assetId, dust.address)).toBe(3n)
    expect(await settlement.claimableRewards(assetId, honest.address)).toBe(600_000n)
    expect((await settlement.getAsset(assetId)).heldForSupporters).toBe(999_998n - 600_001n)
    await settle(0n)
    expect((await settlement.getAsset(assetId)).heldForSupporters).toBe(0n)
    expect(await settlement.claimableRewards(assetId, honest.address)).toBe(999_996n)
    // Nothing was lost: the held share went to the supporters, to the unit (dust included).
    const asset = await settlement.getAsset(assetId)
    expect(asset.supportersFunded).toBe(1_000_000n)
  })

  test('a batch larger than the active stake credits up to the stake and holds the rest', async () => {
    const { settlement, assetId, others } = ctx.fx
    const alice = others[0]!
    await mined(settlement.connect(alice).stake(assetId, 1_000n))
    await settle(0n)
    await settle(40_000n) // supporters' share 10,000 over 1,000 staked
    expect(await settlement.claimableRewards(assetId, alice.address)).toBe(1_000n)
    expect((await settlement.getAsset(assetId)).heldForSupporters).toBe(9_000n)
  })
})
