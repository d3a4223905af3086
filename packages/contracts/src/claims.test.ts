import { type Address, createRebateTree, type RebateEntry, splitRevenue } from '@rma/core'
import { describe, expect, test } from 'vitest'
import {
  argsOf,
  eventsOf,
  expectRevert,
  mined,
  settleArgs,
  useSettlementFixture,
} from '../test/helpers.js'

const shares = { issuerBps: 5000, supportersBps: 2500, usersBps: 1500, protocolBps: 1000 }
const ctx = useSettlementFixture({ shares })

type Tree = ReturnType<typeof createRebateTree>

/** Settles an epoch whose users' share is divided as `perUser` (adding to past epochs). */
async function settleEpoch(
  epoch: number,
  revenue: bigint,
  cumulative: Map<Address, bigint>,
  rebateRoot?: string,
): Promise<Tree> {
  const { settlement, assetId, settler } = ctx.fx
  const tree = createRebateTree(
    [...cumulative].map(([user, cumulativeAmount]) => ({ user, cumulativeAmount })),
  )
  await mined(
    settlement
      .connect(settler)
      .settle(...settleArgs(assetId, epoch, revenue, rebateRoot ?? tree.root)),
  )
  return tree
}

async function claim(tree: Tree, user: Address, sender = ctx.fx.owner) {
  const { settlement, assetId } = ctx.fx
  const entry: RebateEntry = tree.entry(user)
  return mined(
    settlement
      .connect(sender)
      .claimRebate(assetId, entry.user, entry.cumulativeAmount, tree.getProof(entry)),
  )
}

async function stakeSome() {
  await mined(ctx.fx.settlement.connect(ctx.fx.others[5]!).stake(ctx.fx.assetId, 1_000n))
}

describe('claimRebate', () => {
  test('cumulative rebates over two epochs: a second claim pays only the increase', async () => {
    const { settlement, assetId, token, others } = ctx.fx
    const [alice, bob, carol] = others.map((w) => w.address as Address) as [
      Address,
      Address,
      Address,
    ]
    await stakeSome()
    // Epoch 1: users' share of 1,000,000 is 150,000.
    const cumulative = new Map<Address, bigint>([
      [alice, 100_000n],
      [bob, 50_000n],
    ])
    const tree1 = await settleEpoch(1, 1_000_000n, cumulative)
    const aliceBefore = await token.balanceOf(alice)
    const first = await claim(tree1, alice)
    expect(argsOf(eventsOf(settlement, first, 'RebateClaimed')[0])).toEqual({
      assetId,
      user: alice,
      amount: 100_000n,
      cumulativeAmount: 100_000n,
    })
    expect(await settlement.rebateClaimed(assetId, alice)).toBe(100_000n)
    // Epoch 2: 300,000 more; carol is new.
    cumulative.set(alice, 200_000n).set(bob, 150_000n).set(carol, 100_000n)
    const tree2 = await settleEpoch(2, 2_000_000n, cumulative)
    expect((await settlement.getAsset(assetId)).rebateRoot).toBe(tree2.root)
    const second = await claim(tree2, alice)
    expect(argsOf(eventsOf(settlement, second, 'RebateClaimed')[0]).amount).toBe(100_000n)
    expect(await token.balanceOf(alice)).toBe(aliceBefore + 200_000n)
    // bob never claimed: one claim after two epochs covers both.
    const bobBefore = await token.balanceOf(bob)
    await claim(tree2, bob)
    expect(await token.balanceOf(bob)).toBe(bobBefore + 150_000n)
    await claim(tree2, carol)
    const asset = await settlement.getAsset(assetId)
    expect(asset.rebatesFunded).toBe(450_000n)
    expect(asset.rebatesClaimed).toBe(450_000n)
  })

  test('a proof of an old root no longer verifies once the root moves on', async () => {
    const { settlement, assetId, others } = ctx.fx
    const alice = others[0]!.address as Address
    await stakeSome()
    const cumulative = new Map<Address, bigint>([[alice, 1_000n]])
    const tree1 = await settleEpoch(1, 10_000n, cumulative)
    cumulative.set(alice, 2_000n)
    await settleEpoch(2, 10_000n, cumulative)
    const entry = tree1.entry(alice)
    await expectRevert(
      settlement.claimRebate(assetId, alice, entry.cumulativeAmount, tree1.getProof(entry)),
      'InvalidProof',
    )
  })

  test('anyone may submit a claim; the tokens go to the user', async () => {
    const { token, others } = ctx.fx
    const [alice, relayer] = [others[0]!, others[1]!]
    await stakeSome()
    const tree = await settleEpoch(1, 1_000n, new Map([[alice.address as Address, 150n]]))
    const [aliceBefore, relayerBefore] = await Promise.all([
      token.balanceOf(alice.address),
      token.balanceOf(relayer.address),
    ])
    await claim(tree, alice.address as Address, relayer)
    expect(await token.balanceOf(alice.address)).toBe(aliceBefore + 150n)
    expect(await token.balanceOf(relayer.address)).toBe(relayerBefore)
  })

  test('reverts InvalidProof for a wrong amount, user or proof, and before any root', async () => {
    const { settlement, assetId, others } = ctx.fx
    const [alice, bob] = [others[0]!.address as Address, others[1]!.address as Address]
    const single = createRebateTree([{ user: alice, cumulativeAmount: 10n }])
    await expectRevert(settlement.claimRebate(assetId, alice, 10n, []), 'InvalidProof')
    await stakeSome()
    const tree = await settleEpoch(
      1,
      1_000n,
      new Map([
        [alice, 100n],
        [bob, 50n],
      ]),
    )
    const entry = tree.entry(alice)
    const proof = tree.getProof(entry)
    await expectRevert(settlement.claimRebate(assetId, alice, 101n, proof), 'InvalidProof')
    await expectRevert(settlement.claimRebate(assetId, bob, 100n, proof), 'InvalidProof')
    await expectRevert(
      settlement.claimRebate(assetId, alice, 100n, [`0x${'00'.repeat(32)}`]),
      'InvalidProof',
    )
    await expectRevert(
      settlement.claimRebate(assetId, alice, 10n, single.getProof(single.entry(alice))),
      'InvalidProof',
    )
  })

  test('reverts NothingToClaim on a double claim', async () => {
    const { others } = ctx.fx
    const alice = others[0]!.address as Address
    await stakeSome()
    const tree = await settleEpoch(1, 1_000n, new Map([[alice, 150n]]))
    await claim(tree, alice)
    await expectRevert(claim(tree, alice), 'NothingToClaim')
  })

  test('never pays more than was funded, whatever root the settler publishes', async () => {
    const { settlement, assetId, others } = ctx.fx
    const [alice, bob] = [others[0]!.address as Address, others[1]!.address as Address]
    await stakeSome()
    // 1,000 revenue funds 150 of rebates, but the root promises 100 + 100.
    const tree = await settleEpoch(
      1,
      1_000n,
      new Map([
        [alice, 100n],
        [bob, 100n],
      ]),
    )
    await claim(tree, alice)
    await expectRevert(claim(tree, bob), 'RebatesExceedFunded')
    const asset = await settlement.getAsset(assetId)
    expect([asset.rebatesFunded, asset.rebatesClaimed]).toEqual([150n, 100n])
  })
})

describe('claimIssuer', () => {
  test('pays the issuer everything owed, whoever submits', async () => {
    const { settlement, assetId, token, issuer, others } = ctx.fx
    await stakeSome()
    await settleEpoch(1, 1_001n, new Map([[others[0]!.address as Address, 1n]]))
    await settleEpoch(2, 3_333n, new Map([[others[0]!.address as Address, 2n]]))
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

describe('claimProtocol', () => {
  test('pays the owner the protocol fees of a token, whoever submits', async () => {
    const { settlement, assetId, token, tokenAddress, owner, others } = ctx.fx
    await expectRevert(settlement.claimProtocol(tokenAddress), 'NothingToClaim')
    await stakeSome()
    await settleEpoch(1, 12_345n, new Map([[others[0]!.address as Address, 1n]]))
    const fee = splitRevenue(12_345n, shares).protocol
    expect((await settlement.getAsset(assetId)).protocolOwed).toBe(fee)
    const before = await token.balanceOf(owner.address)
    const receipt = await mined(settlement.connect(others[2]!).claimProtocol(tokenAddress))
    expect(argsOf(eventsOf(settlement, receipt, 'ProtocolClaimed')[0])).toEqual({
      token: tokenAddress,
      to: owner.address,
      amount: fee,
    })
    expect(await token.balanceOf(owner.address)).toBe(before + fee)
    expect(await settlement.protocolOwed(tokenAddress)).toBe(0n)
    await expectRevert(settlement.claimProtocol(tokenAddress), 'NothingToClaim')
  })

  test('follows ownership: a new owner receives the fees', async () => {
    const { settlement, token, tokenAddress, owner, others } = ctx.fx
    const treasury = others[3]!
    await stakeSome()
    await settleEpoch(1, 10_000n, new Map([[others[0]!.address as Address, 1n]]))
    await expectRevert(
      settlement.connect(treasury).transferOwnership(treasury.address),
      'OwnableUnauthorizedAccount',
    )
    await expectRevert(settlement.connect(owner).renounceOwnership(), 'OwnerRequired')
    await mined(settlement.connect(owner).transferOwnership(treasury.address))
    const before = await token.balanceOf(treasury.address)
    await mined(settlement.claimProtocol(tokenAddress))
    expect(await token.balanceOf(treasury.address)).toBe(before + 1_000n)
  })
})
