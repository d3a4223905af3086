import { type Address, allocateProRata, type RevenueShares } from '@rma/core'
import { keccak256, MaxUint256, toUtf8Bytes, type Wallet } from 'ethers'
import fc from 'fast-check'
import { expect, test } from 'vitest'
import {
  attestationDigest,
  domainOf,
  makeReceipt,
  signAttestationStruct,
  signReceiptStruct,
} from '../test/fraud.js'
import {
  type EpochTree,
  epochTree,
  eventsOf,
  expectRevert,
  mined,
  settleArgs,
  useSettlementFixture,
} from '../test/helpers.js'
import { SettlementModel } from '../test/settlementModel.js'
import { rmaDomain, signVoucher } from '../test/vouchers.js'
import { deployTestToken } from './deployTestToken.js'
import { registerAsset } from './registerAsset.js'
import type { RmaSettlementContract, TestTokenContract, Voucher } from './types.js'

// Three assets: A and B share one plain token, C is paid in a 1% fee-on-transfer token. Odd
// shares so that every split rounds; the shortest delay so that withdrawals happen within a run.
const sharesA = { issuerBps: 4321, supportersBps: 2345, usersBps: 1999, protocolBps: 1335 }
const sharesB = { issuerBps: 5000, supportersBps: 3333, usersBps: 1667, protocolBps: 0 }
const sharesC = { issuerBps: 6001, supportersBps: 1999, usersBps: 1500, protocolBps: 500 }
const unbondingDelay = 86_400
// The fixture's prepaid withdrawal delay (deploySettlement's default).
const withdrawalDelay = 86_400
const ACTORS = 6
// owner, issuer A, settler A, meter, 6 actors, issuer/settler B, issuer/settler C
const ctx = useSettlementFixture({ shares: sharesA, unbondingDelay }, 14)

type AssetSetup = {
  id: string
  shares: RevenueShares
  token: TestTokenContract
  tokenAddress: string
  settler: Wallet
  issuer: Wallet
  feeOnTransfer: boolean
}
const assets: AssetSetup[] = []
/** The minimum bond of both tokens; each asset's bond as it stands after setup. */
const MIN_BOND = 1_000n
const initialBonds: bigint[] = []

/** Registers assets B and C (after the fixture's snapshot was restored for this test). */
async function setup() {
  const { fx } = ctx
  const [issuerB, settlerB, issuerC, settlerC] = fx.others.slice(ACTORS) as Wallet[]
  const register = async (
    issuer: Wallet,
    settler: Wallet,
    shares: RevenueShares,
    tokenAddress: string,
  ) =>
    (
      await registerAsset(fx.settlement.connect(issuer), {
        salt: keccak256(toUtf8Bytes('rma:property')),
        token: tokenAddress,
        settler: settler.address,
        ...shares,
        unbondingDelay,
      })
    ).assetId
  const { contract: fot, address: fotAddress } = await deployTestToken(fx.owner, {
    kind: 'feeOnTransfer',
  })
  const pending = []
  for (const wallet of [...fx.others.slice(0, ACTORS), settlerC!]) {
    pending.push(await fot.mint(wallet.address, 10n ** 15n))
    pending.push(await fot.connect(wallet).approve(fx.settlementAddress, MaxUint256))
  }
  await Promise.all(pending.map((tx) => tx.wait()))
  assets.push(
    {
      id: fx.assetId,
      shares: sharesA,
      token: fx.token,
      tokenAddress: fx.tokenAddress,
      settler: fx.settler,
      issuer: fx.issuer,
      feeOnTransfer: false,
    },
    {
      id: await register(issuerB!, settlerB!, sharesB, fx.tokenAddress),
      shares: sharesB,
      token: fx.token,
      tokenAddress: fx.tokenAddress,
      settler: settlerB!,
      issuer: issuerB!,
      feeOnTransfer: false,
    },
    {
      id: await register(issuerC!, settlerC!, sharesC, fotAddress),
      shares: sharesC,
      token: fot,
      tokenAddress: fotAddress,
      settler: settlerC!,
      issuer: issuerC!,
      feeOnTransfer: true,
    },
  )
  // The fixture's meter serves every asset (prepaid vouchers name it).
  for (const a of assets.slice(1))
    await mined(fx.settlement.connect(a.issuer).setMeter(a.id, fx.meter.address, true))
  // Fraud proofs: a minimum bond in both tokens, posted by each issuer (who can top it up).
  for (const a of assets) {
    await mined(fx.settlement.connect(fx.owner).setMinBond(a.tokenAddress, MIN_BOND))
    await mined(a.token.mint(a.issuer.address, 10n ** 15n))
    await mined(a.token.connect(a.issuer).approve(fx.settlementAddress, MaxUint256))
    await mined(fx.settlement.connect(a.issuer).postBond(a.id, MIN_BOND))
    initialBonds.push(await fx.settlement.bondOf(a.id))
  }
}

const asset = fc.integer({ min: 0, max: 2 })
const who = fc.integer({ min: 0, max: ACTORS - 1 })
const amount = fc.oneof(fc.bigInt(1n, 300n), fc.bigInt(1n, 10n ** 9n))
const operation = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('stake' as const), asset, who, amount }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      asset,
      revenue: fc.oneof(fc.bigInt(0n, 50n), fc.bigInt(0n, 10n ** 10n)),
      weights: fc.array(fc.bigInt(0n, 10n), { minLength: ACTORS, maxLength: ACTORS }),
      // The rebate root: honest, paying the settler the whole users' share, or promising twice
      // what was funded.
      root: fc.constantFrom('honest', 'settler', 'overpromise'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('requestUnstake' as const),
      asset,
      who,
      percent: fc.integer({ min: 0, max: 110 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('withdraw' as const),
      asset,
      who,
      wait: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, fc.constant(false)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('claimRewards' as const), asset, who }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('claimRebate' as const),
      asset,
      // ACTORS stands for the asset's settler.
      who: fc.integer({ min: 0, max: ACTORS }),
      back: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('claimRebates' as const), asset, who }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('deposit' as const),
      asset,
      // ACTORS stands for the asset's first settler.
      by: fc.oneof(fc.constant(ACTORS), fc.integer({ min: 0, max: ACTORS })),
      amount,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('withdrawDeposit' as const),
      asset,
      by: fc.integer({ min: 0, max: ACTORS }),
      percent: fc.integer({ min: 0, max: 110 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('setSettler' as const),
      asset,
      to: fc.oneof(fc.constant(ACTORS), fc.integer({ min: 0, max: ACTORS })),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('depositPrepaid' as const), asset, who, amount }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('requestWithdrawal' as const),
      asset,
      who,
      percent: fc.integer({ min: 0, max: 110 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('withdrawPrepaid' as const),
      asset,
      who,
      wait: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, fc.constant(false)),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('settlePrepaid' as const),
      asset,
      vouchers: fc.array(
        fc.record({
          who,
          // The increase: a few units, or a share of the user's balance (above 100%: too much).
          step: fc.bigInt(0n, 300n),
          percent: fc.integer({ min: 0, max: 120 }),
          // Mostly honest; some replay the chain's last voucher or are signed by someone else.
          forge: fc.constantFrom('honest', 'honest', 'honest', 'replay', 'wrongSigner'),
        }),
        { maxLength: 5 },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('fraud' as const),
      asset,
      // The fixture's meter overcharges actor `who` by `excess`; actor `by` proves it.
      who,
      by: who,
      // Mostly more than the bond covers, so that stake is slashed whenever some is at risk.
      excess: fc.oneof(
        fc.bigInt(1n, 300n),
        fc.bigInt(1_000n, 10n ** 9n),
        fc.bigInt(1_000n, 10n ** 9n),
      ),
    }),
  },
  // Challenge windows: an issuer sets one (or back to none), time passes, anyone releases.
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('setWindow' as const),
      asset,
      seconds: fc.constantFrom(0, 3600, 7200),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('timeTravel' as const),
      asset,
      seconds: fc.constantFrom(1800, 3700),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('release' as const),
      asset,
      back: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('claimIssuer' as const), asset }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('claimProtocol' as const), asset }) },
)
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never

/** A user's prepaid balance of one token, as the contract should hold it. */
type PrepaidModel = { balance: bigint; requested: bigint; at: bigint }
/** A chain's last settled voucher. */
type ChainModel = { seq: bigint; cumulative: bigint; last?: Voucher }

type RunState = {
  models: SettlementModel[]
  /** Per asset: its settlement mode, fixed by its first settlement (0 none, 1 postpaid, 2 prepaid). */
  modes: number[]
  /** Per token (0 plain, 1 fee-on-transfer), per actor. */
  prepaid: PrepaidModel[][]
  /** By `${asset}:${actor}` (the fixture's meter). */
  chains: Map<string, ChainModel>
  trees: Map<string, EpochTree>
  claimedBits: Set<string>[]
  /** Per actor and token (0 plain, 1 fee-on-transfer): what left and what arrived. */
  sent: bigint[][]
  received: bigint[][]
  /** The seq of the next overcharging receipt (each proof names a new chain position). */
  fraudSeq: bigint
}

test('random sequences over 3 assets (2 sharing a token, 1 fee-on-transfer) keep exact books', async () => {
  await setup()
  const { settlement } = ctx.fx
  const actors = ctx.fx.others.slice(0, ACTORS)
  let runs = 0
  let steps = 0
  let reverted = 0
  let vouchersSettled = 0
  let vouchersSkipped = 0
  let frauds = 0
  let stakeSlashes = 0
  const domain = rmaDomain(
    (await ctx.anvil.provider.getNetwork()).chainId,
    ctx.fx.settlementAddress,
  )

  await fc.assert(
    fc.asyncProperty(fc.array(operation, { minLength: 8, maxLength: 18 }), async (ops) => {
      // Every run starts from the freshly deployed contracts.
      const start = await ctx.anvil.snapshot()
      try {
        runs++
        const state: RunState = {
          models: assets.map(
            (a) =>
              new SettlementModel(a.shares, BigInt(unbondingDelay), ACTORS + 1, a.feeOnTransfer),
          ),
          modes: assets.map(() => 0),
          trees: new Map(),
          claimedBits: assets.map(() => new Set<string>()),
          prepaid: [0, 1].map(() => actors.map(() => ({ balance: 0n, requested: 0n, at: 0n }))),
          chains: new Map(),
          sent: actors.map(() => [0n, 0n]),
          received: actors.map(() => [0n, 0n]),
          fraudSeq: 1n,
        }
        state.models.forEach((m, i) => {
          m.bond = initialBonds[i]!
        })
        const before = await balances()
        // Half the actors start with a prepaid balance in both tokens (the rest only by a
        // deposit op), so that vouchers have something to debit in every run.
        for (let j = 0; j < ACTORS / 2; j++)
          for (const i of [0, 2]) {
            const amount = 1_000_000n + BigInt(j)
            await mined(
              settlement
                .connect(actors[j]!)
                .depositFor(assets[i]!.tokenAddress, actors[j]!.address, amount),
            )
            state.prepaid[tokenIndex(i)]![j]!.balance += state.models[i]!.arrives(amount)
            state.sent[j]![tokenIndex(i)]! += amount
          }
        // The last actor stakes in every asset and starts unbonding half: unbonding stake is at
        // risk at once, so fraud proofs slash stake in most runs.
        const staker = ACTORS - 1
        for (const [i, a] of assets.entries()) {
          await mined(settlement.connect(actors[staker]!).stake(a.id, 2_000_000n))
          state.models[i]!.stake(staker, 2_000_000n)
          state.sent[staker]![tokenIndex(i)]! += 2_000_000n
          const half = state.models[i]!.synced(staker).pending / 2n
          const receipt = await mined(
            settlement.connect(actors[staker]!).requestUnstake(a.id, half),
          )
          state.models[i]!.requestUnstake(
            staker,
            half,
            BigInt((await receipt.getBlock()).timestamp),
          )
        }
        for (const op of ops) {
          steps++
          if ((await apply(op, state)) === 'reverted') reverted++
          await checkBooks(state, op.asset)
        }
        await checkEnd(state, before)
      } finally {
        await ctx.anvil.revert(start)
      }
    }),
    { numRuns: Number(process.env.RMA_PROPERTY_RUNS ?? 200) },
  )
  console.log(
    `invariants: ${runs} runs, ${steps} operations (${reverted} expected reverts), ${vouchersSettled} vouchers settled, ${vouchersSkipped} skipped, ${frauds} frauds proven (${stakeSlashes} slashing stake)`,
  )

  /** Each actor's balance of each token. */
  async function balances(): Promise<bigint[][]> {
    return Promise.all(
      actors.map((a) =>
        Promise.all([assets[0]!.token, assets[2]!.token].map((t) => t.balanceOf(a.address))),
      ),
    )
  }

  function tokenIndex(i: number) {
    return assets[i]!.feeOnTransfer ? 1 : 0
  }
  function arrives(i: number, value: bigint) {
    return assets[i]!.feeOnTransfer ? value - value / 100n : value
  }
  function account(i: number, who: number) {
    return who === ACTORS ? assets[i]!.settler : actors[who]!
  }

  async function latestTime(): Promise<bigint> {
    return BigInt((await ctx.anvil.provider.getBlock('latest'))!.timestamp)
  }

  async function reverts(sent: Promise<unknown>, name: string): Promise<'reverted'> {
    await expectRevert(sent, name)
    return 'reverted'
  }

  async function apply(op: Operation, state: RunState): Promise<'reverted' | undefined> {
    const a = assets[op.asset]!
    const model = state.models[op.asset]!
    const t = tokenIndex(op.asset)
    const as = (wallet: Wallet): RmaSettlementContract => settlement.connect(wallet)
    switch (op.kind) {
      case 'stake': {
        await mined(as(actors[op.who]!).stake(a.id, op.amount))
        model.stake(op.who, op.amount)
        state.sent[op.who]![t]! += op.amount
        return
      }
      case 'requestUnstake': {
        const s = model.synced(op.who)
        const amount = ((s.active + s.pending) * BigInt(op.percent) + 99n) / 100n
        const error = model.unstakeError(op.who, amount)
        const sent = as(actors[op.who]!).requestUnstake(a.id, amount)
        if (error) return reverts(sent, error)
        const receipt = await mined(sent)
        model.requestUnstake(op.who, amount, BigInt((await receipt.getBlock()).timestamp))
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
        const sent = as(actors[op.who]!)['withdraw(bytes32)'](a.id)
        if (error) return reverts(sent, error)
        await mined(sent)
        state.received[op.who]![t]! += arrives(op.asset, model.withdraw(op.who))
        return
      }
      case 'settle': {
        // An asset settled prepaid refuses batches (its users' vouchers would count them again).
        if (state.modes[op.asset] === 2)
          return reverts(
            as(account(op.asset, model.settler)).settle(
              ...settleArgs(a.id, model.epoch + 1n, op.revenue),
            ),
            'SettlementModeMismatch',
          )
        // The users' share of what will arrive (a deposit that covers the revenue pays it
        // exactly; otherwise it is pulled, and the fee token keeps 1%).
        const fromDeposit = op.revenue !== 0n && model.deposits[model.settler]! >= op.revenue
        const received =
          op.revenue === 0n ? 0n : fromDeposit ? op.revenue : model.arrives(op.revenue)
        const users = (received * BigInt(a.shares.usersBps)) / 10_000n
        const leaves = new Map<number, bigint>()
        if (op.root === 'settler') leaves.set(ACTORS, users)
        else {
          const weights = op.weights.some((w) => w > 0n) ? op.weights : op.weights.map(() => 1n)
          for (const [i, amount] of allocateProRata(users, weights).entries())
            leaves.set(i, op.root === 'overpromise' ? amount * 2n : amount)
        }
        const tree = epochTree(
          [...leaves].map(([i, v]) => [account(op.asset, i).address as Address, v]),
        )
        // Whether the settle releases the oldest pending batch depends on the block's time:
        // skip a step whose release time is within a few seconds of now (wall-clock drift).
        const latest = await latestTime()
        if (model.pending.some((b) => b.releasableAt > latest && b.releasableAt - latest < 30n))
          return
        // Sent by the current settler (an actor after setSettler), whose wallet pays a pull.
        const sent = as(account(op.asset, model.settler)).settle(
          ...settleArgs(a.id, model.epoch + 1n, op.revenue, tree.root),
        )
        const full = model.settleError(latest + 1n)
        if (full) return reverts(sent, full)
        const receipt = await mined(sent)
        if (!fromDeposit && model.settler < ACTORS) state.sent[model.settler]![t]! += op.revenue
        state.modes[op.asset] = 1
        model.settle(op.revenue, leaves, BigInt((await receipt.getBlock()).timestamp))
        state.trees.set(`${op.asset}:${model.epoch}`, tree)
        return
      }
      case 'fraud': {
        const user = actors[op.who]!
        const now = BigInt((await ctx.anvil.provider.getBlock('latest'))!.timestamp)
        const r = makeReceipt({
          assetId: a.id as `0x${string}`,
          meter: ctx.fx.meter.address,
          user: user.address,
          timestamp: now,
          seq: state.fraudSeq++,
          amount: 100n + op.excess,
        })
        const att = {
          assetId: r.assetId,
          user: user.address,
          requestHash: r.requestHash,
          nonce: r.seq,
          expiry: now + 600n,
          maxAmount: 100n,
        }
        const fraudDomain = domainOf(ctx.fx.settlementAddress)
        r.attestation = attestationDigest(fraudDomain, att) as `0x${string}`
        const sigR = await signReceiptStruct(ctx.fx.meter, fraudDomain, r)
        const sigAtt = await signAttestationStruct(user, fraudDomain, att)
        // An explicit gas limit: once in ~35,000 steps under CI load, the estimate left the
        // verifier's STATICCALL short (mined with status 0 and empty revert data; the same
        // sequence replayed by its seed passes). A real revert still fails the step.
        await mined(
          as(actors[op.by]!).proveOvercharge(r, sigR, att, sigAtt, { gasLimit: 2_000_000 }),
        )
        const slashesBefore = model.slashes.length
        const { toUser, toChallenger } = model.fraud(op.excess, MIN_BOND)
        frauds++
        stakeSlashes += model.slashes.length - slashesBefore
        if (toUser !== 0n) state.received[op.who]![t]! += arrives(op.asset, toUser)
        if (toChallenger !== 0n) state.received[op.by]![t]! += arrives(op.asset, toChallenger)
        await checkBooks(state, op.asset)
        // Frozen until the issuer restores the bond, resumes and authorises its meter again.
        const settler = as(account(op.asset, model.settler))
        if (state.modes[op.asset] === 2)
          await reverts(settler.settlePrepaid(a.id, []), 'AssetFrozen')
        else await reverts(settler.settle(...settleArgs(a.id, model.epoch + 1n, 0n)), 'AssetFrozen')
        const issuer = as(a.issuer)
        await reverts(issuer.resume(a.id), 'BondTooLow')
        const topUp = MIN_BOND - model.bond
        const posted = topUp + topUp / 50n + 20n
        await mined(issuer.postBond(a.id, posted))
        model.bond += arrives(op.asset, posted)
        await mined(issuer.resume(a.id))
        model.frozen = false
        await mined(issuer.setMeter(a.id, ctx.fx.meter.address, true))
        return
      }
      case 'setWindow': {
        await mined(as(a.issuer).setChallengeWindow(a.id, op.seconds))
        model.window = BigInt(op.seconds)
        return
      }
      case 'timeTravel': {
        await ctx.anvil.increaseTime(op.seconds)
        return
      }
      case 'release': {
        // One of the first pending batches (releasing every earlier one with it), or an epoch
        // with nothing pending.
        const pending = model.pending
        const target =
          pending.length === 0 ? model.epoch : pending[Math.min(op.back, pending.length - 1)]!.epoch
        const upTo = pending.filter((b) => b.epoch <= target)
        const latest = await latestTime()
        if (upTo.some((b) => b.releasableAt > latest && b.releasableAt - latest < 30n)) return
        const sent = as(actors[op.back]!).release(a.id, target)
        if (upTo.length === 0) return reverts(sent, 'NotPending')
        if (upTo.some((b) => b.releasableAt > latest)) return reverts(sent, 'EpochPending')
        await mined(sent)
        for (const _ of upTo) model.releaseOldest()
        return
      }
      case 'claimRewards': {
        const sent = as(actors[op.who]!).claimRewards(a.id)
        if (model.claimable(op.who) === 0n) return reverts(sent, 'NothingToClaim')
        await mined(sent)
        state.received[op.who]![t]! += arrives(op.asset, model.claimRewards(op.who))
        return
      }
      case 'claimRebate': {
        const epoch = model.epoch > BigInt(op.back) ? model.epoch - BigInt(op.back) : 0n
        const user = account(op.asset, op.who)
        const tree = state.trees.get(`${op.asset}:${epoch}`)
        const leaf = model.epochs.get(epoch)?.leaves.get(op.who)
        // Without a leaf, claim 1 unit with an empty proof.
        const args = [
          a.id,
          epoch,
          user.address,
          leaf ?? 1n,
          tree && leaf !== undefined ? tree.getProof(tree.entry(user.address as Address)) : [],
        ] as const
        const sent = as(actors[(op.who + 1) % ACTORS]!).claimRebate(...args)
        const error = model.rebateError(op.who, epoch, state.claimedBits[op.asset]!)
        if (error) return reverts(sent, error)
        await mined(sent)
        const paid = model.claimRebate(op.who, epoch, state.claimedBits[op.asset]!)
        if (op.who < ACTORS) state.received[op.who]![t]! += arrives(op.asset, paid)
        return
      }
      case 'claimRebates': {
        // Every epoch the actor can claim now, in one transaction (none: NothingToClaim).
        const user = actors[op.who]!.address as Address
        const claimable = [...model.epochs.keys()].filter(
          (epoch) => model.rebateError(op.who, epoch, state.claimedBits[op.asset]!) === null,
        )
        const claims = claimable.map((epoch) => {
          const tree = state.trees.get(`${op.asset}:${epoch}`)!
          const entry = tree.entry(user)
          return { epoch, amount: entry.cumulativeAmount, proof: tree.getProof(entry) }
        })
        const sent = as(actors[(op.who + 2) % ACTORS]!).claimRebates(a.id, user, claims)
        if (claims.length === 0) return reverts(sent, 'NothingToClaim')
        await mined(sent)
        let total = 0n
        for (const epoch of claimable)
          total += model.claimRebate(op.who, epoch, state.claimedBits[op.asset]!)
        state.received[op.who]![t]! += arrives(op.asset, total)
        return
      }
      case 'deposit': {
        // Any account may deposit; only the current settler's deposit pays batches.
        await mined(as(account(op.asset, op.by)).deposit(a.id, op.amount))
        model.deposits[op.by]! += model.arrives(op.amount)
        if (op.by < ACTORS) state.sent[op.by]![t]! += op.amount
        return
      }
      case 'withdrawDeposit': {
        // Up to 110% of the account's deposit: more than it holds is refused, whoever asks.
        const held = model.deposits[op.by]!
        const value = (held * BigInt(op.percent)) / 100n + (op.percent > 100 ? 1n : 0n)
        const sent = as(account(op.asset, op.by)).withdrawDeposit(a.id, value)
        if (value === 0n) return reverts(sent, 'ZeroAmount')
        if (value > held) return reverts(sent, 'InsufficientDeposit')
        await mined(sent)
        model.deposits[op.by]! -= value
        if (op.by < ACTORS) state.received[op.by]![t]! += arrives(op.asset, value)
        return
      }
      case 'setSettler': {
        await mined(as(a.issuer).setSettler(a.id, account(op.asset, op.to).address))
        model.settler = op.to
        return
      }
      case 'depositPrepaid': {
        await mined(
          as(actors[op.who]!).depositFor(a.tokenAddress, actors[op.who]!.address, op.amount),
        )
        state.prepaid[t]![op.who]!.balance += model.arrives(op.amount)
        state.sent[op.who]![t]! += op.amount
        return
      }
      case 'requestWithdrawal': {
        const p = state.prepaid[t]![op.who]!
        const amount = (p.balance * BigInt(op.percent) + 99n) / 100n
        const sent = as(actors[op.who]!).requestWithdrawal(a.tokenAddress, amount)
        if (amount > p.balance) return reverts(sent, 'InsufficientBalance')
        const receipt = await mined(sent)
        p.requested = amount
        p.at =
          amount === 0n
            ? 0n
            : BigInt((await receipt.getBlock()).timestamp) + BigInt(withdrawalDelay)
        return
      }
      case 'withdrawPrepaid': {
        if (op.wait) await ctx.anvil.increaseTime(withdrawalDelay + 1)
        const p = state.prepaid[t]![op.who]!
        const latest = BigInt((await ctx.anvil.provider.getBlock('latest'))!.timestamp)
        if (p.at > latest && p.at - latest < 30n) return
        const sent = as(actors[op.who]!)['withdraw(address)'](a.tokenAddress)
        if (p.requested === 0n) return reverts(sent, 'NothingToWithdraw')
        if (latest + 1n < p.at) return reverts(sent, 'WithdrawalLocked')
        await mined(sent)
        // What is left after the vouchers settled meanwhile, at most what was requested.
        let paid = p.requested
        if (p.balance < paid) paid = p.balance
        p.balance -= paid
        p.requested = 0n
        p.at = 0n
        state.received[op.who]![t]! += arrives(op.asset, paid)
        return
      }
      case 'settlePrepaid': {
        // Builds the vouchers in order against the chains as the contract will see them.
        const vouchers: Voucher[] = []
        const expected: { who: number; debit: bigint }[] = []
        const virtual = new Map<string, ChainModel>()
        const balances = state.prepaid[t]!.map((p) => p.balance)
        const usersBps = BigInt(a.shares.usersBps)
        // Vouchers mostly come from users who hold a balance in the token.
        const holders = actors.map((_, j) => j).filter((j) => balances[j]! > 0n)
        for (const raw of op.vouchers) {
          const entry =
            holders.length > 0 && raw.who % 4 !== 3
              ? { ...raw, who: holders[raw.who % holders.length]! }
              : raw
          const key = `${op.asset}:${entry.who}`
          const chain = virtual.get(key) ?? state.chains.get(key) ?? { seq: 0n, cumulative: 0n }
          const user = actors[entry.who]!
          let voucher: Voucher
          if (entry.forge === 'replay') {
            if (!chain.last) continue
            voucher = chain.last
          } else {
            const fields = {
              assetId: a.id,
              user: user.address,
              meter: ctx.fx.meter.address,
              seq: chain.seq + 1n,
              receiptHash: keccak256(toUtf8Bytes(`${key}:${chain.seq + 1n}`)),
              cumulativeAmount:
                chain.cumulative +
                entry.step +
                (balances[entry.who]! * BigInt(entry.percent)) / 100n,
            }
            const signer = entry.forge === 'wrongSigner' ? actors[(entry.who + 1) % ACTORS]! : user
            voucher = await signVoucher(signer, domain, fields)
          }
          vouchers.push(voucher)
          const debit = BigInt(voucher.cumulativeAmount) - chain.cumulative
          const applies = entry.forge === 'honest' && debit > 0n && debit <= balances[entry.who]!
          if (!applies) continue
          balances[entry.who] = balances[entry.who]! - debit + (debit * usersBps) / 10_000n
          virtual.set(key, {
            seq: BigInt(voucher.seq),
            cumulative: BigInt(voucher.cumulativeAmount),
            last: voucher,
          })
          expected.push({ who: entry.who, debit })
        }
        const sent = as(account(op.asset, model.settler)).settlePrepaid(a.id, vouchers)
        // The attack of a voucher on a postpaid asset: its running total would debit receipts
        // already paid by a batch. Refused; the books checks after it see that nothing moved.
        if (state.modes[op.asset] === 1) return reverts(sent, 'SettlementModeMismatch')
        const receipt = await mined(sent)
        state.modes[op.asset] = 2
        const settledEvents = eventsOf(settlement, receipt, 'VoucherSettled')
        expect(settledEvents.map((e) => [e.args.user, e.args.debit])).toEqual(
          expected.map((e) => [actors[e.who]!.address, e.debit]),
        )
        vouchersSettled += expected.length
        vouchersSkipped += vouchers.length - expected.length
        const rebates = model.settlePrepaid(expected.map((e) => e.debit))
        expected.forEach((e, k) => {
          state.prepaid[t]![e.who]!.balance += rebates[k]! - e.debit
        })
        for (const [key, chain] of virtual) state.chains.set(key, chain)
        return
      }
      case 'claimIssuer': {
        const sent = settlement.claimIssuer(a.id)
        if (model.funded.issuer === model.claimed.issuer) return reverts(sent, 'NothingToClaim')
        await mined(sent)
        model.claimIssuer()
        return
      }
      case 'claimProtocol': {
        const sent = settlement.claimProtocol(a.id)
        if (model.funded.protocol === model.claimed.protocol) return reverts(sent, 'NothingToClaim')
        await mined(sent)
        model.claimProtocol()
        return
      }
    }
  }

  /** After every step: each token's balance covers (here: equals) its assets' ledgers. */
  async function checkBooks(state: RunState, touched: number) {
    const [plain, fee, prepaidPlain, prepaidFee, ...ledgers] = await Promise.all([
      assets[0]!.token.balanceOf(ctx.fx.settlementAddress),
      assets[2]!.token.balanceOf(ctx.fx.settlementAddress),
      settlement.prepaidTotalOf(assets[0]!.tokenAddress),
      settlement.prepaidTotalOf(assets[2]!.tokenAddress),
      ...assets.map((a) => settlement.ledgerOf(a.id)),
    ])
    for (const [i, ledger] of ledgers.entries()) expect(ledger).toBe(state.models[i]!.owed())
    const risk = await settlement.riskOf(assets[touched]!.id)
    const mr = state.models[touched]!
    expect([risk.bond, risk.frozen, risk.totalSlashed]).toEqual([
      mr.bond,
      mr.frozen,
      mr.totalSlashed,
    ])
    const sum = (ps: PrepaidModel[]) => ps.reduce((total, p) => total + p.balance, 0n)
    expect([prepaidPlain, prepaidFee]).toEqual([sum(state.prepaid[0]!), sum(state.prepaid[1]!)])
    expect(plain >= ledgers[0]! + ledgers[1]! + prepaidPlain).toBe(true)
    expect(fee >= ledgers[2]! + prepaidFee).toBe(true)
    // With no outside transfers the balances are exactly the ledgers and prepaid balances.
    expect([plain, fee]).toEqual([
      ledgers[0]! + ledgers[1]! + prepaidPlain,
      ledgers[2]! + prepaidFee,
    ])
    const view = await settlement.getAsset(assets[touched]!.id)
    const m = state.models[touched]!
    expect([view.epoch, view.totalStake, view.pendingStake, view.totalUnbonding]).toEqual([
      m.epoch,
      m.totalStake,
      m.pendingStake,
      m.totalUnbonding,
    ])
    expect([view.rewardPerStake, view.heldForSupporters, view.deposits]).toEqual([
      m.rewardPerStake,
      m.held,
      m.deposits.reduce((x, y) => x + y, 0n),
    ])
    // Each account's deposit is its own, whoever is settler.
    const deposits = await Promise.all(
      m.deposits.map((_, i) =>
        settlement.depositOf(assets[touched]!.id, account(touched, i).address),
      ),
    )
    expect(deposits).toEqual(m.deposits)
    expect([
      view.issuerFunded,
      view.supportersFunded,
      view.rebatesFunded,
      view.protocolFunded,
    ]).toEqual([m.funded.issuer, m.funded.supporters, m.funded.users, m.funded.protocol])
    expect([
      view.issuerClaimed,
      view.supportersClaimed,
      view.rebatesClaimed,
      view.protocolClaimed,
    ]).toEqual([m.claimed.issuer, m.claimed.supporters, m.claimed.users, m.claimed.protocol])
  }

  /** At the end of a run: every account's figures, and paid + owed = revenue per role. */
  async function checkEnd(state: RunState, before: bigint[][]) {
    for (const [i, a] of assets.entries()) {
      const m = state.models[i]!
      const perActor = await Promise.all(
        actors.flatMap((actor) => [
          settlement.stakeOf(a.id, actor.address),
          settlement.pendingStakeOf(a.id, actor.address),
          settlement.claimableRewards(a.id, actor.address),
        ]),
      )
      let claimable = 0n
      actors.forEach((_, j) => {
        const s = m.synced(j)
        const [stake, pending, rewards] = perActor.slice(j * 3, j * 3 + 3) as [
          Awaited<ReturnType<RmaSettlementContract['stakeOf']>>,
          Awaited<ReturnType<RmaSettlementContract['pendingStakeOf']>>,
          bigint,
        ]
        expect([stake.active, stake.unbonding, stake.unbondingEnd]).toEqual([
          s.active,
          s.unbonding,
          s.unbondingEnd,
        ])
        expect([pending.amount, pending.activationEpoch]).toEqual([s.pending, s.pendingEpoch])
        expect(rewards).toBe(s.accrued)
        claimable += s.accrued
      })
      const epochs = await Promise.all(
        [...m.epochs.keys()].map((e) => settlement.epochRebates(a.id, e)),
      )
      ;[...m.epochs.values()].forEach((e, k) => {
        expect(epochs[k]!.remaining).toBe(e.funded - e.claimed)
        expect(e.claimed <= e.funded).toBe(true)
      })
      const view = await settlement.getAsset(a.id)
      // Per role: paid + owed = funded = the split of the revenue that arrived, to the unit.
      // (plus the units of rounding a stake slash gave the protocol)
      expect(m.funded.issuer + m.funded.supporters + m.funded.users + m.funded.protocol).toBe(
        m.revenue + m.slashDust,
      )
      expect(view.issuerClaimed + view.issuerOwed).toBe(m.funded.issuer)
      expect(view.protocolClaimed + view.protocolOwed).toBe(m.funded.protocol)
      const rebatesOwed = [...m.epochs.values()].reduce((sum, e) => sum + e.funded - e.claimed, 0n)
      expect(view.rebatesClaimed + rebatesOwed).toBe(m.funded.users)
      // Supporters: paid + claimable + held + floor dust = funded; the dust is at most a unit
      // per supporter per change of stake, never a whole share.
      const dust =
        view.supportersFunded - view.supportersClaimed - claimable - view.heldForSupporters
      expect(dust >= 0n).toBe(true)
      // After a stake slash, the totals can exceed the sum of the floored stakes by a unit per
      // supporter; the rewards of that ownerless stake stay with the role (owed, unclaimable),
      // so the tight bound holds only for runs without a slash.
      if (m.slashes.length === 0) expect(dust <= BigInt(ACTORS) * (m.epoch + 2n)).toBe(true)
      // Every supporter's slashed stake, as the contract reports it.
      const risks = await Promise.all(
        actors.map((actor) => settlement.stakeAtRiskOf(a.id, actor.address)),
      )
      risks.forEach((risk, j) => {
        const s = m.synced(j)
        expect([...risk]).toEqual([s.active, s.unbonding, s.slashed])
      })
    }
    // Every prepaid balance, pending request and chain is as the model says.
    for (const [t, tokenAddress] of [assets[0]!.tokenAddress, assets[2]!.tokenAddress].entries()) {
      const views = await Promise.all(
        actors.map((actor) => settlement.prepaidBalance(tokenAddress, actor.address)),
      )
      views.forEach((v, j) => {
        const p = state.prepaid[t]![j]!
        expect([v.balance, v.withdrawalRequested, v.withdrawableAt]).toEqual([
          p.balance,
          p.requested,
          p.at,
        ])
      })
    }
    for (const [key, chain] of state.chains) {
      const [i, j] = key.split(':').map(Number) as [number, number]
      const [seq, cumulative] = await settlement.settledVoucher(
        assets[i]!.id,
        ctx.fx.meter.address,
        actors[j]!.address,
      )
      expect([seq, cumulative]).toEqual([chain.seq, chain.cumulative])
    }
    // Every payment reached its recipient: balances moved by exactly the flows.
    const after = await balances()
    actors.forEach((_, j) => {
      for (const t of [0, 1])
        expect(after[j]![t]).toBe(before[j]![t]! - state.sent[j]![t]! + state.received[j]![t]!)
    })
  }
}, 900_000)
