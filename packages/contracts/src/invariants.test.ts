import { type Address, allocateProRata, createRebateTree } from '@rma/core'
import fc from 'fast-check'
import { expect, test } from 'vitest'
import { expectRevert, mined, settleArgs, useSettlementFixture } from '../test/helpers.js'
import { SettlementModel } from '../test/settlementModel.js'

// Odd shares so that every split rounds; a short delay so withdrawals happen within a run.
const shares = { issuerBps: 4321, supportersBps: 2345, usersBps: 1999, protocolBps: 1335 }
const unbondingDelay = 1_000
const ACTORS = 5
const ctx = useSettlementFixture({ shares, unbondingDelay })

const who = fc.integer({ min: 0, max: ACTORS - 1 })
const amount = fc.oneof(fc.bigInt(1n, 10n), fc.bigInt(1n, 10n ** 9n))
const operation = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('stake' as const), who, amount }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      revenue: fc.oneof(fc.bigInt(0n, 20n), fc.bigInt(0n, 10n ** 10n)),
      weights: fc.array(fc.bigInt(0n, 10n), { minLength: ACTORS, maxLength: ACTORS }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('requestUnstake' as const),
      who,
      percent: fc.integer({ min: 1, max: 100 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('withdraw' as const),
      who,
      // mostly after the delay; sometimes too early
      wait: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, fc.constant(false)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('claimRewards' as const), who }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('claimRebate' as const), who }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('claimIssuer' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('claimProtocol' as const) }) },
)
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never

test('random operation sequences keep the books exact against a reference model', async () => {
  const { settlement, token, settlementAddress, tokenAddress, assetId, settler, issuer, owner } =
    ctx.fx
  const actors = ctx.fx.others.slice(0, ACTORS)
  const users = actors.map((a) => a.address as Address)
  let runs = 0
  let steps = 0
  let reverted = 0

  await fc.assert(
    fc.asyncProperty(fc.array(operation, { minLength: 5, maxLength: 16 }), async (ops) => {
      // Every run starts from the freshly deployed fixture.
      const start = await ctx.anvil.snapshot()
      try {
        runs++
        const model = new SettlementModel(shares, BigInt(unbondingDelay), ACTORS)
        const balances = await Promise.all(
          [...users, issuer.address, owner.address].map((a) => token.balanceOf(a)),
        )
        let tree: ReturnType<typeof createRebateTree> | undefined
        for (const op of ops) {
          steps++
          const result = await apply(op, model, tree)
          if (result === 'reverted') reverted++
          else if (result) tree = result
          await checkState(model)
        }
        // Per role: paid + owed == funded == the sum of splitRevenue over the settlements.
        const asset = await settlement.getAsset(assetId)
        expect(asset.issuerClaimed + asset.issuerOwed).toBe(model.predicted.issuer)
        expect(asset.supportersFunded).toBe(model.predicted.supporters)
        expect(asset.rebatesFunded).toBe(model.predicted.users)
        expect(model.protocolClaimed + asset.protocolOwed).toBe(model.predicted.protocol)
        const supportersPaid = model.supporters.reduce((sum, s) => sum + s.claimed, 0n)
        expect(supportersPaid).toBe(asset.supportersClaimed)
        expect(asset.rebatesClaimed).toBe(model.rebateClaimed.reduce((a, b) => a + b, 0n))
        // Every payment reached its recipient: balances moved by exactly the model's flows.
        const after = await Promise.all(
          [...users, issuer.address, owner.address].map((a) => token.balanceOf(a)),
        )
        users.forEach((_, i) => {
          const s = model.supporters[i]!
          const staked = model.stakedTotal[i]!
          const withdrawn = model.withdrawnTotal[i]!
          expect(after[i]).toBe(
            balances[i]! - staked + withdrawn + s.claimed + model.rebateClaimed[i]!,
          )
        })
        expect(after[ACTORS]).toBe(balances[ACTORS]! + asset.issuerClaimed)
        expect(after[ACTORS + 1]).toBe(balances[ACTORS + 1]! + model.protocolClaimed)
      } finally {
        await ctx.anvil.revert(start)
      }
    }),
    { numRuns: 100 },
  )
  console.log(`invariants: ${runs} runs, ${steps} operations (${reverted} expected reverts)`)

  async function expectReverted(sent: Promise<unknown>, name: string): Promise<'reverted'> {
    await expectRevert(sent, name)
    return 'reverted'
  }

  async function apply(
    op: Operation,
    model: SettlementModel,
    tree: ReturnType<typeof createRebateTree> | undefined,
  ) {
    switch (op.kind) {
      case 'stake': {
        await mined(settlement.connect(actors[op.who]!).stake(assetId, op.amount))
        model.stake(op.who, op.amount)
        model.stakedTotal[op.who]! += op.amount
        return
      }
      case 'requestUnstake': {
        const active = model.supporters[op.who]!.active
        const amount = active === 0n ? 1n : (active * BigInt(op.percent) + 99n) / 100n
        const error = model.unstakeError(op.who, amount)
        const sent = settlement.connect(actors[op.who]!).requestUnstake(assetId, amount)
        if (error) return expectReverted(sent, error)
        const receipt = await mined(sent)
        const block = await receipt.getBlock()
        model.requestUnstake(op.who, amount, BigInt(block.timestamp))
        return
      }
      case 'withdraw': {
        if (op.wait) await ctx.anvil.increaseTime(unbondingDelay + 1)
        // The next block's timestamp is at least the latest one: decide on the latest + 1 only
        // when the boundary is not within a few seconds (wall-clock drift of a run).
        const latest = BigInt((await ctx.anvil.provider.getBlock('latest'))!.timestamp)
        const end = model.supporters[op.who]!.unbondingEnd
        if (end > latest && end - latest < 30n) return
        const error = model.withdrawError(op.who, latest + 1n)
        const sent = settlement.connect(actors[op.who]!).withdraw(assetId)
        if (error) return expectReverted(sent, error)
        await mined(sent)
        model.withdrawnTotal[op.who]! += model.withdraw(op.who)
        return
      }
      case 'settle': {
        const error = model.settleError(op.revenue)
        const usersShare = (op.revenue * BigInt(shares.usersBps)) / 10_000n
        const weights = op.weights.some((w) => w > 0n) ? op.weights : op.weights.map(() => 1n)
        const perUser = allocateProRata(usersShare, weights)
        const cumulative = model.rebateCumulative.map((c, i) => c + perUser[i]!)
        const next = createRebateTree(
          users.map((user, i) => ({ user, cumulativeAmount: cumulative[i]! })),
        )
        const sent = settlement
          .connect(settler)
          .settle(...settleArgs(assetId, model.epoch + 1n, op.revenue, next.root))
        if (error) return expectReverted(sent, error)
        await mined(sent)
        model.settle(op.revenue, perUser)
        return next
      }
      case 'claimRewards': {
        const sent = settlement.connect(actors[op.who]!).claimRewards(assetId)
        if (model.claimable(op.who) === 0n) return expectReverted(sent, 'NothingToClaim')
        await mined(sent)
        model.claimRewards(op.who)
        return
      }
      case 'claimRebate': {
        const user = users[op.who]!
        if (!tree)
          return expectReverted(settlement.claimRebate(assetId, user, 0n, []), 'InvalidProof')
        const entry = tree.entry(user)
        const sent = settlement
          .connect(actors[(op.who + 1) % ACTORS]!)
          .claimRebate(assetId, user, entry.cumulativeAmount, tree.getProof(entry))
        if (model.rebateCumulative[op.who] === model.rebateClaimed[op.who])
          return expectReverted(sent, 'NothingToClaim')
        await mined(sent)
        model.claimRebate(op.who)
        return
      }
      case 'claimIssuer': {
        const sent = settlement.claimIssuer(assetId)
        if (model.issuerFunded === model.issuerClaimed)
          return expectReverted(sent, 'NothingToClaim')
        await mined(sent)
        model.claimIssuer()
        return
      }
      case 'claimProtocol': {
        const sent = settlement.claimProtocol(tokenAddress)
        if (model.protocolFunded === model.protocolClaimed)
          return expectReverted(sent, 'NothingToClaim')
        await mined(sent)
        model.claimProtocol()
        return
      }
    }
  }

  async function checkState(model: SettlementModel) {
    const [balance, asset, ...perActor] = await Promise.all([
      token.balanceOf(settlementAddress),
      settlement.getAsset(assetId),
      ...users.flatMap((u) => [
        settlement.stakeOf(assetId, u),
        settlement.claimableRewards(assetId, u),
        settlement.rebateClaimed(assetId, u),
      ]),
    ])
    const owed =
      asset.totalStake +
      asset.totalUnbonding +
      asset.issuerOwed +
      asset.protocolOwed +
      (asset.rebatesFunded - asset.rebatesClaimed) +
      (asset.supportersFunded - asset.supportersClaimed)
    // The contract always holds what it owes; with no outside transfers, exactly that.
    expect(balance >= owed).toBe(true)
    expect(balance).toBe(owed)
    expect(owed).toBe(model.owed())
    expect(asset.epoch).toBe(model.epoch)
    expect(asset.rewardPerStake).toBe(model.rewardPerStake)
    expect([asset.totalStake, asset.totalUnbonding]).toEqual([
      model.totalStake,
      model.totalUnbonding,
    ])
    expect([asset.supportersFunded, asset.supportersClaimed]).toEqual([
      model.supportersFunded,
      model.supportersClaimed,
    ])
    expect([asset.rebatesFunded, asset.rebatesClaimed]).toEqual([
      model.rebatesFunded,
      model.rebatesClaimed,
    ])
    expect(asset.rebatesClaimed <= asset.rebatesFunded).toBe(true)
    let claimable = 0n
    users.forEach((_, i) => {
      const stake = perActor[i * 3] as Awaited<ReturnType<typeof settlement.stakeOf>>
      const s = model.supporters[i]!
      expect([stake.active, stake.unbonding, stake.unbondingEnd]).toEqual([
        s.active,
        s.unbonding,
        s.unbondingEnd,
      ])
      // Each supporter's claimable (and so claimed + claimable) matches the reference model.
      expect(perActor[i * 3 + 1]).toBe(model.claimable(i))
      expect(perActor[i * 3 + 2]).toBe(model.rebateClaimed[i])
      claimable += model.claimable(i)
    })
    // Supporters can never claim more than their role was funded: the rest is rounding dust.
    expect(claimable <= asset.supportersFunded - asset.supportersClaimed).toBe(true)
  }
}, 300_000)
