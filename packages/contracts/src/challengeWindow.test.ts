import type { Address } from '@rma/core'
import { keccak256, toUtf8Bytes } from 'ethers'
import { describe, expect, test } from 'vitest'
import {
  addAsset,
  argsOf,
  blockTime,
  claimArgs,
  type EpochTree,
  epochTree,
  eventsOf,
  expectRevert,
  mined,
  settleArgs,
  useSettlementFixture,
} from '../test/helpers.js'
import { deploySettlement } from './deploySettlement.js'
import { maxChallengeWindow, maxPendingBatches } from './maxChallengeWindow.js'
import { registerAsset } from './registerAsset.js'

const shares = { issuerBps: 5000, supportersBps: 2500, usersBps: 1500, protocolBps: 1000 }
const HOUR = 3600
const ctx = useSettlementFixture({ shares }, 12)

const PENDING = 1n
const RELEASED = 2n

function users() {
  const [alice, bob] = ctx.fx.others as [(typeof ctx.fx.others)[0], (typeof ctx.fx.others)[0]]
  return { alice, bob }
}

/** A rebate tree of the epoch's users' share (15% of `revenue`), split 2:1 between alice and bob. */
function treeOf(revenue: bigint): EpochTree {
  const { alice, bob } = users()
  const usersShare = (revenue * 1500n) / 10_000n
  const toAlice = (usersShare * 2n) / 3n
  return epochTree([
    [alice.address as Address, toAlice],
    [bob.address as Address, usersShare - toAlice],
  ])
}

async function settleEpoch(epoch: number, revenue: bigint, assetId = ctx.fx.assetId) {
  const { settlement, settler } = ctx.fx
  const tree = treeOf(revenue)
  const receipt = await mined(
    settlement.connect(settler).settle(...settleArgs(assetId, epoch, revenue, tree.root)),
  )
  return { tree, receipt }
}

async function setWindow(seconds: number, assetId = ctx.fx.assetId) {
  await mined(ctx.fx.settlement.connect(ctx.fx.issuer).setChallengeWindow(assetId, seconds))
}

/** Every amount of `getAsset` that a settle or release may change. */
async function books(assetId = ctx.fx.assetId) {
  const a = await ctx.fx.settlement.getAsset(assetId)
  return {
    issuerOwed: a.issuerOwed,
    protocolOwed: a.protocolOwed,
    rebatesFunded: a.rebatesFunded,
    supportersFunded: a.supportersFunded,
    rewardPerStake: a.rewardPerStake,
    heldForSupporters: a.heldForSupporters,
    ledger: a.ledger,
  }
}

describe('setting the window', () => {
  test('only the issuer sets it, within [minChallengeWindow, 7 days]; a new asset starts at the minimum', async () => {
    const { settlement, assetId, issuer, settler, owner, tokenAddress } = ctx.fx
    expect(await settlement.challengeWindowOf(assetId)).toBe(0n)
    expect(maxChallengeWindow).toBe(7 * 24 * 3600)
    await expectRevert(settlement.connect(settler).setChallengeWindow(assetId, HOUR), 'NotIssuer')
    await expectRevert(
      settlement.connect(issuer).setChallengeWindow(assetId, maxChallengeWindow + 1),
      'InvalidChallengeWindow',
    )
    const set = await mined(settlement.connect(issuer).setChallengeWindow(assetId, 7 * 24 * HOUR))
    expect(argsOf(eventsOf(settlement, set, 'ChallengeWindowSet')[0])).toEqual({
      assetId,
      challengeWindow: 7n * 24n * 3600n,
    })
    expect(await settlement.challengeWindowOf(assetId)).toBe(7n * 24n * 3600n)
    await setWindow(0)
    expect(await settlement.challengeWindowOf(assetId)).toBe(0n)

    // A deployment with a minimum: assets start at it and cannot go below it.
    await expect(
      deploySettlement(owner, { minChallengeWindow: 7 * 24 * HOUR + 1 }),
    ).rejects.toThrow()
    const { contract } = await deploySettlement(owner, { minChallengeWindow: 2 * HOUR })
    expect(await contract.minChallengeWindow()).toBe(2n * 3600n)
    const { assetId: other } = await registerAsset(contract.connect(issuer), {
      salt: keccak256(toUtf8Bytes('rma:windowed')),
      token: tokenAddress,
      settler: settler.address,
      ...shares,
      unbondingDelay: 86_400,
    })
    expect(await contract.challengeWindowOf(other)).toBe(2n * 3600n)
    await expectRevert(
      contract.connect(issuer).setChallengeWindow(other, 2 * HOUR - 1),
      'InvalidChallengeWindow',
    )
    await expectRevert(
      contract.connect(issuer).setChallengeWindow(other, 0),
      'InvalidChallengeWindow',
    )
    await mined(contract.connect(issuer).setChallengeWindow(other, 3 * HOUR))
    expect(await contract.challengeWindowOf(other)).toBe(3n * 3600n)
  })
})

describe('a pending batch', () => {
  test('credits nothing and pays no claim before its release; after the window anyone releases it, exactly as a settle without a window', async () => {
    const { settlement, assetId, issuer, owner, token, others } = ctx.fx
    const { alice } = users()
    // Twin asset without a window, same shares and revenue: the reference books.
    const twin = await addAsset(ctx.fx, { issuer: others[5]!, settler: ctx.fx.settler })
    await setWindow(HOUR)
    const before = await books()
    const revenue = 1_000_003n
    const { tree, receipt } = await settleEpoch(1, revenue)
    const settledAt = await blockTime(ctx.anvil)
    await settleEpoch(1, revenue, twin)

    // Settled reports the split it will credit; nothing of it is credited yet.
    expect(argsOf(eventsOf(settlement, receipt, 'Settled')[0]).revenue).toBe(revenue)
    const pending = await books()
    expect(pending).toEqual({ ...before, ledger: before.ledger + revenue })
    const state = await settlement.epochStateOf(assetId, 1)
    expect([state.state, state.releasableAt, state.revenue]).toEqual([
      PENDING,
      settledAt + 3600n,
      revenue,
    ])
    // The epoch's root is posted, with nothing claimable.
    expect((await settlement.epochRebates(assetId, 1)).remaining).toBe(0n)

    // Claims revert EpochPending and move nothing; the issuer and protocol have nothing yet.
    const held = await token.balanceOf(ctx.fx.settlementAddress)
    await expectRevert(
      settlement.claimRebate(...claimArgs(assetId, 1, tree, alice.address as Address)),
      'EpochPending',
      [settledAt + 3600n],
    )
    const entry = tree.entry(alice.address as Address)
    await expectRevert(
      settlement.claimRebates(assetId, alice.address, [
        { epoch: 1, amount: entry.cumulativeAmount, proof: tree.getProof(entry) },
      ]),
      'EpochPending',
      [settledAt + 3600n],
    )
    await expectRevert(settlement.claimIssuer(assetId), 'NothingToClaim')
    await expectRevert(settlement.claimProtocol(assetId), 'NothingToClaim')
    expect(await token.balanceOf(ctx.fx.settlementAddress)).toBe(held)
    expect(await settlement.rebateClaimed(assetId, 1, alice.address)).toBe(false)

    // Before the window has passed nobody releases it.
    await expectRevert(settlement.connect(owner).release(assetId, 1), 'EpochPending', [
      settledAt + 3600n,
    ])
    await ctx.anvil.increaseTime(HOUR - 30)
    await expectRevert(settlement.connect(owner).release(assetId, 1), 'EpochPending')
    await ctx.anvil.increaseTime(30)
    const released = await mined(settlement.connect(others[4]!).release(assetId, 1))
    expect(argsOf(eventsOf(settlement, released, 'BatchReleased')[0])).toEqual({
      assetId,
      epoch: 1n,
      revenue,
    })
    expect((await settlement.epochStateOf(assetId, 1)).state).toBe(RELEASED)
    await expectRevert(settlement.release(assetId, 1), 'NotPending', [1n])

    // The books now equal the twin's, which credited at its settle.
    const twinBooks = await books(twin)
    const after = await books()
    expect(after).toEqual({ ...twinBooks, ledger: after.ledger })
    expect(after.ledger).toBe(before.ledger + revenue)
    expect((await settlement.epochRebates(assetId, 1)).remaining).toBe((revenue * 1500n) / 10_000n)

    // And the claims pay.
    const aliceBefore = await token.balanceOf(alice.address)
    await mined(settlement.claimRebate(...claimArgs(assetId, 1, tree, alice.address as Address)))
    expect(await token.balanceOf(alice.address)).toBe(aliceBefore + entry.cumulativeAmount)
    const issuerBefore = await token.balanceOf(issuer.address)
    await mined(settlement.claimIssuer(assetId))
    expect(await token.balanceOf(issuer.address)).toBe(issuerBefore + twinBooks.issuerOwed)
  })

  test('the next settle releases the oldest pending batch once due, in the same transaction', async () => {
    const { settlement, assetId } = ctx.fx
    const { alice } = users()
    await setWindow(HOUR)
    const { tree } = await settleEpoch(1, 5_000_000n)
    // Not due: the next settle leaves it pending.
    await settleEpoch(2, 7_000_000n)
    expect((await settlement.epochStateOf(assetId, 1)).state).toBe(PENDING)
    expect((await settlement.epochStateOf(assetId, 2)).state).toBe(PENDING)
    await ctx.anvil.increaseTime(HOUR)
    const { receipt } = await settleEpoch(3, 1_000_000n)
    expect(eventsOf(settlement, receipt, 'BatchReleased').map((e) => e.args.epoch)).toEqual([1n])
    expect((await settlement.epochStateOf(assetId, 1)).state).toBe(RELEASED)
    expect((await settlement.epochStateOf(assetId, 2)).state).toBe(PENDING)
    expect((await settlement.epochStateOf(assetId, 3)).state).toBe(PENDING)
    expect((await settlement.getAsset(assetId)).issuerOwed).toBe(5_000_000n / 2n)
    await mined(settlement.claimRebate(...claimArgs(assetId, 1, tree, alice.address as Address)))
    // release(epoch) releases every earlier pending batch first, each only once due.
    await expectRevert(settlement.release(assetId, 3), 'EpochPending')
    const released = await mined(settlement.release(assetId, 2))
    expect(eventsOf(settlement, released, 'BatchReleased').map((e) => e.args.epoch)).toEqual([2n])
  })

  test('a lying settler cannot shorten the window: early releases, extra settles and its own window change all fail', async () => {
    const { settlement, assetId, settler, issuer } = ctx.fx
    await setWindow(6 * HOUR)
    await settleEpoch(1, 9_000_000n)
    const { releasableAt } = await settlement.epochStateOf(assetId, 1)
    await expectRevert(settlement.connect(settler).release(assetId, 1), 'EpochPending', [
      releasableAt,
    ])
    // Settling empty batches back to back closes epochs but releases nothing early.
    for (const epoch of [2, 3, 4]) {
      const { receipt } = await settleEpoch(epoch, 0n)
      expect(eventsOf(settlement, receipt, 'BatchReleased')).toEqual([])
    }
    await expectRevert(settlement.connect(settler).setChallengeWindow(assetId, 0), 'NotIssuer')
    // Even the issuer's shorter window applies to later batches only: batch 1 keeps its time,
    // and a later batch with no window waits for it (batches are released in order).
    await mined(settlement.connect(issuer).setChallengeWindow(assetId, 0))
    expect((await settlement.epochStateOf(assetId, 1)).releasableAt).toBe(releasableAt)
    const { receipt } = await settleEpoch(5, 1_000_000n)
    expect(eventsOf(settlement, receipt, 'BatchReleased')).toEqual([])
    expect((await settlement.epochStateOf(assetId, 5)).state).toBe(PENDING)
    await expectRevert(settlement.release(assetId, 5), 'EpochPending', [releasableAt])
    expect((await settlement.getAsset(assetId)).issuerOwed).toBe(0n)
    await ctx.anvil.increaseTime(6 * HOUR)
    const released = await mined(settlement.release(assetId, 5))
    expect(eventsOf(settlement, released, 'BatchReleased').map((e) => e.args.epoch)).toEqual([
      1n,
      2n,
      3n,
      4n,
      5n,
    ])
    // Nothing pending and no window: back to crediting at settle.
    const { receipt: immediate } = await settleEpoch(6, 2_000_000n)
    expect(eventsOf(settlement, immediate, 'BatchReleased')).toEqual([])
    expect((await settlement.epochStateOf(assetId, 6)).state).toBe(RELEASED)
  })

  test('at most 15 batches pend: the 16th settle reverts TooManyPending until the oldest is due', async () => {
    const { settlement, assetId, settler } = ctx.fx
    await setWindow(HOUR)
    for (let epoch = 1; epoch <= maxPendingBatches; epoch++) await settleEpoch(epoch, 1_000n)
    const { releasableAt } = await settlement.epochStateOf(assetId, 1)
    await expectRevert(
      settlement.connect(settler).settle(...settleArgs(assetId, 16, 1_000n, treeOf(1_000n).root)),
      'TooManyPending',
      [releasableAt],
    )
    await ctx.anvil.increaseTime(HOUR)
    const { receipt } = await settleEpoch(16, 1_000n)
    expect(eventsOf(settlement, receipt, 'BatchReleased').map((e) => e.args.epoch)).toEqual([1n])
  })

  test('pending revenue stays in the ledger: skim cannot take it, and the balance covers every ledger', async () => {
    const { settlement, assetId, owner, token, tokenAddress, settlementAddress } = ctx.fx
    await setWindow(HOUR)
    await settleEpoch(1, 4_000_000n)
    await settleEpoch(2, 3_000_000n)
    const ledger = await settlement.ledgerOf(assetId)
    expect(ledger).toBe(7_000_000n)
    expect(await token.balanceOf(settlementAddress)).toBe(ledger)
    await expectRevert(
      settlement.connect(owner).skim(tokenAddress, owner.address, [assetId]),
      'NothingToSkim',
    )
  })

  test('supporters earn a pending batch’s share at its release; stake still activates at each settle', async () => {
    const { settlement, assetId } = ctx.fx
    const [, , carol] = ctx.fx.others
    await mined(settlement.connect(carol!).stake(assetId, 10n ** 9n))
    await setWindow(HOUR)
    await settleEpoch(1, 4_000_000n) // carol's stake activates here
    expect((await settlement.stakeOf(assetId, carol!.address)).active).toBe(10n ** 9n)
    await settleEpoch(2, 8_000_000n)
    expect(await settlement.claimableRewards(assetId, carol!.address)).toBe(0n)
    await expectRevert(settlement.connect(carol!).claimRewards(assetId), 'NothingToClaim')
    await ctx.anvil.increaseTime(HOUR)
    await mined(settlement.release(assetId, 2))
    // Epoch 1's share (1,000,000) and epoch 2's (2,000,000) reach carol, the only active
    // stake, at their releases.
    expect(await settlement.claimableRewards(assetId, carol!.address)).toBe(3_000_000n)
  })
})

test('window 0 is unchanged: credited and claimable at the settle, reported released', async () => {
  const { settlement, assetId } = ctx.fx
  const { alice } = users()
  const { tree, receipt } = await settleEpoch(1, 1_000_000n)
  expect(eventsOf(settlement, receipt, 'BatchReleased')).toEqual([])
  expect((await settlement.epochStateOf(assetId, 1)).state).toBe(RELEASED)
  expect((await settlement.epochStateOf(assetId, 2)).state).toBe(0n)
  expect((await settlement.getAsset(assetId)).issuerOwed).toBe(500_000n)
  await mined(settlement.claimRebate(...claimArgs(assetId, 1, tree, alice.address as Address)))
  await expectRevert(settlement.release(assetId, 1), 'NotPending', [1n])
})

describe('the oldest pending batch’s due time, copied into the asset’s slot 2', () => {
  const releasedBy = (receipt: Awaited<ReturnType<typeof mined>>) =>
    eventsOf(ctx.fx.settlement, receipt, 'BatchReleased').map((e) => e.args.epoch)

  test('it follows the oldest batch through partial releases and shorter windows: a settle releases the oldest batch exactly when due', async () => {
    const { settlement, assetId } = ctx.fx
    await setWindow(HOUR)
    await settleEpoch(1, 1_000_000n)
    await setWindow(600)
    await settleEpoch(2, 1_000_000n)
    await ctx.anvil.increaseTime(600)
    // Batch 2's time has passed, but batch 1 is the oldest and not due: nothing is released.
    expect(releasedBy((await settleEpoch(3, 1_000_000n)).receipt)).toEqual([])
    await ctx.anvil.increaseTime(HOUR)
    // Every batch is due; releasing only the first makes batch 2 the oldest.
    expect(releasedBy(await mined(settlement.release(assetId, 1)))).toEqual([1n])
    expect(releasedBy((await settleEpoch(4, 1_000_000n)).receipt)).toEqual([2n])
    expect(releasedBy((await settleEpoch(5, 1_000_000n)).receipt)).toEqual([3n])
    // Batch 4, settled a moment ago with a 10-minute window, is the oldest now: not due.
    expect(releasedBy((await settleEpoch(6, 1_000_000n)).receipt)).toEqual([])
    for (const epoch of [4, 5, 6])
      expect((await settlement.epochStateOf(assetId, epoch)).state).toBe(PENDING)
    const { releasableAt } = await settlement.epochStateOf(assetId, 4)
    await expectRevert(settlement.release(assetId, 4), 'EpochPending', [releasableAt])
    await ctx.anvil.increaseTime(600)
    expect(releasedBy((await settleEpoch(7, 1_000_000n)).receipt)).toEqual([4n])
    // Releasing all but the newest makes it the oldest.
    expect(releasedBy(await mined(settlement.release(assetId, 6)))).toEqual([5n, 6n])
    await ctx.anvil.increaseTime(600)
    expect(releasedBy((await settleEpoch(8, 1_000_000n)).receipt)).toEqual([7n])
  })

  // Moves the chain's clock to 2106: the last test of the file.
  test('its 32 bits are never truncated: a settle whose batch would be due after 2106 reverts and moves nothing', async () => {
    const { settlement, settlementAddress, token, assetId, settler } = ctx.fx
    await setWindow(HOUR)
    const last = 2n ** 32n - 1n
    const provider = ctx.anvil.provider
    await provider.send('evm_setNextBlockTimestamp', [Number(last) - HOUR])
    await settleEpoch(1, 1_000_000n)
    expect((await settlement.epochStateOf(assetId, 1)).releasableAt).toBe(last)
    await provider.send('evm_setNextBlockTimestamp', [Number(last) - HOUR + 1])
    const before = await token.balanceOf(settlementAddress)
    await expectRevert(
      settlement
        .connect(settler)
        .settle(...settleArgs(assetId, 2, 1_000_000n, treeOf(1_000_000n).root)),
      'AmountTooLarge',
      [last],
    )
    expect(await token.balanceOf(settlementAddress)).toBe(before)
    expect((await settlement.getAsset(assetId)).epoch).toBe(1n)
  })
})
