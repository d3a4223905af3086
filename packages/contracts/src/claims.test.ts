import { type Address, splitRevenue } from '@rma/core'
import { describe, expect, test } from 'vitest'
import {
  addAsset,
  argsOf,
  claimArgs,
  type EpochTree,
  epochTree,
  eventsOf,
  expectRevert,
  mined,
  settleArgs,
  useSettlementFixture,
} from '../test/helpers.js'
import { storedRebateRoot } from './storedRebateRoot.js'

const shares = { issuerBps: 5000, supportersBps: 2500, usersBps: 1500, protocolBps: 1000 }
const ctx = useSettlementFixture({ shares })

/** Settles epoch `epoch` with `tree` as its rebate root (or `root` instead). */
async function settleEpoch(
  epoch: number,
  revenue: bigint,
  tree: EpochTree,
  options: { root?: string; settler?: (typeof ctx.fx)['settler']; assetId?: string } = {},
) {
  const { settlement, assetId, settler } = ctx.fx
  return mined(
    settlement
      .connect(options.settler ?? settler)
      .settle(...settleArgs(options.assetId ?? assetId, epoch, revenue, options.root ?? tree.root)),
  )
}

function claim(epoch: number, tree: EpochTree, user: Address, sender = ctx.fx.owner) {
  return ctx.fx.settlement
    .connect(sender)
    .claimRebate(...claimArgs(ctx.fx.assetId, epoch, tree, user))
}

const addresses = () => ctx.fx.others.map((w) => w.address as Address)

describe('claimRebate (one epoch per root)', () => {
  test('pays each epoch’s amount once; a later root leaves earlier proofs valid', async () => {
    const { settlement, assetId, token } = ctx.fx
    const [alice, bob, carol] = addresses() as [Address, Address, Address]
    // Epoch 1: the users' share of 1,000,000 is 150,000.
    const tree1 = epochTree([
      [alice, 100_000n],
      [bob, 50_000n],
    ])
    await settleEpoch(1, 1_000_000n, tree1)
    expect([...(await settlement.epochRebates(assetId, 1))]).toEqual([
      storedRebateRoot(tree1.root),
      150_000n,
    ])
    const aliceBefore = await token.balanceOf(alice)
    const first = await mined(claim(1, tree1, alice))
    expect(argsOf(eventsOf(settlement, first, 'RebateClaimed')[0])).toEqual({
      assetId,
      epoch: 1n,
      user: alice,
      amount: 100_000n,
    })
    expect(await settlement.rebateClaimed(assetId, 1, alice)).toBe(true)
    expect(await settlement.rebateClaimed(assetId, 1, bob)).toBe(false)
    // Epoch 2 has its own tree (300,000): bob's epoch-1 proof, in flight, still pays after it.
    const tree2 = epochTree([
      [alice, 100_000n],
      [bob, 100_000n],
      [carol, 100_000n],
    ])
    await settleEpoch(2, 2_000_000n, tree2)
    await mined(claim(1, tree1, bob))
    await mined(claim(2, tree2, alice))
    await mined(claim(2, tree2, carol))
    expect(await token.balanceOf(alice)).toBe(aliceBefore + 200_000n)
    // Funded 150,000 and 300,000: what is left of each epoch's funding.
    expect((await settlement.epochRebates(assetId, 1)).remaining).toBe(0n)
    expect((await settlement.epochRebates(assetId, 2)).remaining).toBe(100_000n)
    const asset = await settlement.getAsset(assetId)
    expect([asset.rebatesFunded, asset.rebatesClaimed]).toEqual([450_000n, 350_000n])
  })

  test('anyone may submit a claim; the tokens go to the user', async () => {
    const { token, others } = ctx.fx
    const [alice] = addresses() as [Address]
    const tree = epochTree([[alice, 1_000n]])
    await settleEpoch(1, 100_000n, tree)
    const before = await token.balanceOf(alice)
    await mined(claim(1, tree, alice, others[2]!))
    expect(await token.balanceOf(alice)).toBe(before + 1_000n)
  })

  test('reverts InvalidProof for a wrong amount, user, proof or epoch', async () => {
    const { settlement, assetId } = ctx.fx
    const [alice, bob, carol] = addresses() as [Address, Address, Address]
    const tree = epochTree([
      [alice, 1_000n],
      [bob, 2_000n],
    ])
    const s = settlement.connect(ctx.fx.owner)
    // No epoch settled yet.
    await expectRevert(s.claimRebate(...claimArgs(assetId, 1, tree, alice)), 'InvalidProof')
    await settleEpoch(1, 100_000n, tree)
    const [, , user, amount, proof] = claimArgs(assetId, 1, tree, alice)
    await expectRevert(s.claimRebate(assetId, 1, user, amount + 1n, proof), 'InvalidProof')
    await expectRevert(s.claimRebate(assetId, 1, carol, amount, proof), 'InvalidProof')
    await expectRevert(s.claimRebate(assetId, 1, user, amount, []), 'InvalidProof')
    await expectRevert(s.claimRebate(assetId, 2, user, amount, proof), 'InvalidProof')
    await expectRevert(s.claimRebate(assetId, 0, user, amount, proof), 'InvalidProof')
  })

  test('reverts RebateAlreadyClaimed on a second claim of the same epoch', async () => {
    const [alice] = addresses() as [Address]
    const tree = epochTree([[alice, 1_000n]])
    await settleEpoch(1, 100_000n, tree)
    await mined(claim(1, tree, alice))
    await expectRevert(claim(1, tree, alice), 'RebateAlreadyClaimed', [1n])
  })

  test('a batch with a users’ share needs a rebate root; one without needs none', async () => {
    const { settlement, assetId, settler } = ctx.fx
    const zero = `0x${'00'.repeat(32)}`
    const s = settlement.connect(settler)
    await expectRevert(s.settle(...settleArgs(assetId, 1, 1_000n, zero)), 'MissingRebateRoot')
    // 6 × 1500 / 10000 floors to 0: no users' share, no root needed.
    await mined(s.settle(...settleArgs(assetId, 1, 6n, zero)))
    expect([...(await settlement.epochRebates(assetId, 1))]).toEqual([zero, 0n])
  })
})

describe('claimRebates (several epochs, one transfer)', () => {
  test('pays several epochs at once and refuses an epoch listed twice', async () => {
    const { settlement, assetId, token, others } = ctx.fx
    const [alice, bob] = addresses() as [Address, Address]
    const trees = [
      epochTree([
        [alice, 10n],
        [bob, 5n],
      ]),
      epochTree([[alice, 20n]]),
      epochTree([
        [alice, 30n],
        [bob, 1n],
      ]),
    ]
    for (const [i, tree] of trees.entries()) await settleEpoch(i + 1, 1_000n, tree)
    const claimOf = (epoch: number) => {
      const [, , , amount, proof] = claimArgs(assetId, epoch, trees[epoch - 1]!, alice)
      return { epoch, amount, proof }
    }
    await expectRevert(
      settlement.claimRebates(assetId, alice, [claimOf(1), claimOf(1)]),
      'RebateAlreadyClaimed',
      [1n],
    )
    await expectRevert(settlement.claimRebates(assetId, alice, []), 'NothingToClaim')
    const before = await token.balanceOf(alice)
    const receipt = await mined(
      settlement.connect(others[3]!).claimRebates(assetId, alice, [1, 2, 3].map(claimOf)),
    )
    expect(eventsOf(settlement, receipt, 'RebateClaimed').map((e) => e.args.amount)).toEqual([
      10n,
      20n,
      30n,
    ])
    expect(await token.balanceOf(alice)).toBe(before + 60n)
    for (const epoch of [1, 2, 3])
      expect(await settlement.rebateClaimed(assetId, epoch, alice)).toBe(true)
    expect(await settlement.rebateClaimed(assetId, 1, bob)).toBe(false)
  })
})

describe('H1: a settler (or the issuer through setSettler) cannot take funded rebates', () => {
  /** Epoch 1 funds 150,000 for alice and bob; nobody has claimed yet. */
  async function honestEpoch() {
    const [alice, bob] = addresses() as [Address, Address]
    const tree = epochTree([
      [alice, 100_000n],
      [bob, 50_000n],
    ])
    await settleEpoch(1, 1_000_000n, tree)
    return { alice, bob, tree }
  }

  /** Alice and bob claim epoch 1 in full with their original proofs. */
  async function honestUsersClaimInFull(tree: EpochTree, alice: Address, bob: Address) {
    const { token, settlement, assetId } = ctx.fx
    const before = await Promise.all([alice, bob].map((u) => token.balanceOf(u)))
    await mined(claim(1, tree, alice))
    await mined(claim(1, tree, bob))
    expect(await token.balanceOf(alice)).toBe(before[0]! + 100_000n)
    expect(await token.balanceOf(bob)).toBe(before[1]! + 50_000n)
    // Funded 150,000, all claimed: nothing left.
    expect([...(await settlement.epochRebates(assetId, 1))]).toEqual([
      storedRebateRoot(tree.root),
      0n,
    ])
  }

  test('the audit’s attack: settle(revenue 0, a root paying the settler) pays it nothing', async () => {
    const { settlement, assetId, settler, token } = ctx.fx
    const { alice, bob, tree } = await honestEpoch()
    const thief = settler.address as Address
    const stolen = epochTree([[thief, 150_000n]])
    await settleEpoch(2, 0n, stolen)
    // Epoch 2 funded nothing, so its root was not even stored; epoch 1 is untouched.
    const before = await token.balanceOf(thief)
    await expectRevert(
      settlement.connect(settler).claimRebate(...claimArgs(assetId, 2, stolen, thief)),
      'InvalidProof',
    )
    // Nor can the stolen tree's proof claim from epoch 1.
    await expectRevert(
      settlement.connect(settler).claimRebate(...claimArgs(assetId, 1, stolen, thief)),
      'InvalidProof',
    )
    // With some revenue, the settler can misdirect at most what it paid in for that epoch.
    const greedy = epochTree([[thief, 150_000n]])
    await settleEpoch(3, 1_000n, greedy)
    await expectRevert(
      settlement.connect(settler).claimRebate(...claimArgs(assetId, 3, greedy, thief)),
      'RebatesExceedFunded',
      [3n],
    )
    const ownShare = epochTree([[thief, 150n]])
    await settleEpoch(4, 1_000n, ownShare)
    await mined(settlement.connect(settler).claimRebate(...claimArgs(assetId, 4, ownShare, thief)))
    expect(await token.balanceOf(thief)).toBe(before - 2_000n + 150n)
    await honestUsersClaimInFull(tree, alice, bob)
  })

  test('the issuer making itself the settler gains no more', async () => {
    const { settlement, assetId, issuer } = ctx.fx
    const { alice, bob, tree } = await honestEpoch()
    const receipt = await mined(settlement.connect(issuer).setSettler(assetId, issuer.address))
    expect(argsOf(eventsOf(settlement, receipt, 'SettlerSet')[0])).toEqual({
      assetId,
      previousSettler: ctx.fx.settler.address,
      settler: issuer.address,
    })
    const stolen = epochTree([[issuer.address as Address, 150_000n]])
    await settleEpoch(2, 0n, stolen, { settler: issuer })
    await expectRevert(
      settlement
        .connect(issuer)
        .claimRebate(...claimArgs(assetId, 2, stolen, issuer.address as Address)),
      'InvalidProof',
    )
    await honestUsersClaimInFull(tree, alice, bob)
  })

  test('L6: a later root that omits or lowers a user changes nothing for earlier epochs', async () => {
    const { settlement, assetId } = ctx.fx
    const { alice, bob, tree } = await honestEpoch()
    // Epoch 2's root gives alice 1 and omits bob; epoch 1 stays as it was.
    await settleEpoch(2, 1_000_000n, epochTree([[alice, 1n]]))
    expect((await settlement.epochRebates(assetId, 1)).root).toBe(storedRebateRoot(tree.root))
    await honestUsersClaimInFull(tree, alice, bob)
  })

  test('claims against an epoch are capped at its funding, never at other epochs’ expense', async () => {
    const { settlement, assetId } = ctx.fx
    const { alice, bob, tree } = await honestEpoch()
    // Epoch 2 funds 1,500 but its (buggy) root promises 2,000 to carol and dave.
    const [, , carol, dave] = addresses() as [Address, Address, Address, Address]
    const overPromised = epochTree([
      [carol, 1_000n],
      [dave, 1_000n],
    ])
    await settleEpoch(2, 10_000n, overPromised)
    await mined(claim(2, overPromised, carol))
    await expectRevert(claim(2, overPromised, dave), 'RebatesExceedFunded', [2n])
    // Funded 1,500, claimed 1,000: 500 left, more than dave's leaf.
    expect((await settlement.epochRebates(assetId, 2)).remaining).toBe(500n)
    await honestUsersClaimInFull(tree, alice, bob)
  })
})

describe('claimIssuer', () => {
  test('pays the issuer everything owed, whoever submits', async () => {
    const { settlement, assetId, token, issuer, others } = ctx.fx
    const tree = epochTree([[others[0]!.address as Address, 1n]])
    await settleEpoch(1, 1_001n, tree)
    await settleEpoch(2, 3_333n, tree)
    const owed = splitRevenue(1_001n, shares).issuer + splitRevenue(3_333n, shares).issuer
    expect((await settlement.getAsset(assetId)).issuerOwed).toBe(owed)
    const before = await token.balanceOf(issuer.address)
    const receipt = await mined(settlement.connect(others[1]!).claimIssuer(assetId))
    expect(argsOf(eventsOf(settlement, receipt, 'IssuerClaimed')[0])).toEqual({
      assetId,
      issuer: issuer.address,
      amount: owed,
    })
    expect(await token.balanceOf(issuer.address)).toBe(before + owed)
    const asset = await settlement.getAsset(assetId)
    expect([asset.issuerOwed, asset.issuerClaimed, asset.issuerFunded]).toEqual([0n, owed, owed])
    await expectRevert(settlement.claimIssuer(assetId), 'NothingToClaim')
  })
})

describe('I2: claimProtocol per asset', () => {
  test('each asset owes and pays its own protocol fees, even in a shared token', async () => {
    const { settlement, assetId, token, owner, others } = ctx.fx
    const [issuer2, settler2] = [others[4]!, others[5]!]
    const second = await addAsset(ctx.fx, { issuer: issuer2, settler: settler2 })
    await mined(token.mint(settler2.address, 10n ** 12n))
    await mined(token.connect(settler2).approve(ctx.fx.settlementAddress, 10n ** 12n))
    await expectRevert(settlement.claimProtocol(assetId), 'NothingToClaim')
    const tree = epochTree([[others[0]!.address as Address, 1n]])
    await settleEpoch(1, 12_345n, tree)
    await settleEpoch(1, 777_777n, tree, { settler: settler2, assetId: second })
    const fee1 = splitRevenue(12_345n, shares).protocol
    const fee2 = splitRevenue(777_777n, shares).protocol
    expect((await settlement.getAsset(assetId)).protocolOwed).toBe(fee1)
    expect((await settlement.getAsset(second)).protocolOwed).toBe(fee2)
    const before = await token.balanceOf(owner.address)
    const receipt = await mined(settlement.connect(others[2]!).claimProtocol(assetId))
    expect(argsOf(eventsOf(settlement, receipt, 'ProtocolClaimed')[0])).toEqual({
      assetId,
      to: owner.address,
      amount: fee1,
    })
    expect(await token.balanceOf(owner.address)).toBe(before + fee1)
    const [a1, a2] = await Promise.all([settlement.getAsset(assetId), settlement.getAsset(second)])
    expect([a1.protocolFunded, a1.protocolClaimed, a1.protocolOwed]).toEqual([fee1, fee1, 0n])
    expect([a2.protocolFunded, a2.protocolClaimed, a2.protocolOwed]).toEqual([fee2, 0n, fee2])
    await expectRevert(settlement.claimProtocol(assetId), 'NothingToClaim')
    await mined(settlement.claimProtocol(second))
    expect(await token.balanceOf(owner.address)).toBe(before + fee1 + fee2)
  })

  test('follows ownership: a new owner receives the fees', async () => {
    const { settlement, assetId, token, owner, others } = ctx.fx
    const treasury = others[3]!
    await settleEpoch(1, 10_000n, epochTree([[others[0]!.address as Address, 1n]]))
    await expectRevert(
      settlement.connect(treasury).transferOwnership(treasury.address),
      'OwnableUnauthorizedAccount',
    )
    await expectRevert(settlement.connect(owner).renounceOwnership(), 'OwnerRequired')
    await mined(settlement.connect(owner).transferOwnership(treasury.address))
    const before = await token.balanceOf(treasury.address)
    await mined(settlement.claimProtocol(assetId))
    expect(await token.balanceOf(treasury.address)).toBe(before + 1_000n)
  })
})
