import { type Address, createRebateTree, type RebateEntry } from '@rma/core'
import { dataSlice, getAddress, keccak256, MaxUint256, toBeHex } from 'ethers'
import { deploySettlementFixture } from './deploySettlementFixture.js'
import type { Anvil } from './startAnvil.js'

export type MeasureSettlementGasParameters = {
  /** Users in each epoch's rebate tree (sets the proof length of `claimRebate`; default 10,000). */
  users?: number
  /** Receipt counts to settle one batch each with, in steady state (default 100, 10k, 100k). */
  receiptCounts?: readonly number[]
  /** Protocol fee in bps (default 0; the issuer's share shrinks by as much). */
  protocolBps?: number
}

/** Gas used by each transaction (`gasUsed` of its receipt, so including the 21,000 base). */
export type SettlementGas = {
  /** The first settlement of an asset (its counters go from zero to non-zero). */
  settleFirst: bigint
  /**
   * Steady-state settlements (stake active and far above a batch's supporters' share, so
   * nothing is held or pending), by receipt count, paying the revenue with `transferFrom`
   * under a standing allowance.
   */
  settleByReceiptCount: Record<number, bigint>
  /** A steady-state settlement paid from the settler's deposit instead. */
  settleFromDeposit: bigint
  /** The settler's top-up of its deposit (`deposit`, once it has one). */
  depositTopUp: bigint
  /**
   * A settlement from the deposit while the supporters' share is held: batches whose
   * supporters' share exceeds the active stake (the per-epoch ceiling) rewrite the held
   * amount.
   */
  settleFromDepositHeld: bigint
  /** A user's first claim, and the epoch's first. */
  claimRebateFirst: bigint
  /** A user's claim of a later epoch that another user has already claimed from. */
  claimRebateRepeat: bigint
  /** A user's claim of a later epoch nobody claimed from yet (its claimed counter starts). */
  claimRebateFirstOfEpoch: bigint
  /** `claimRebates` over 4 epochs in one transaction. */
  claimRebatesFourEpochs: bigint
  /** A supporter's first stake on an asset. */
  stakeFirst: bigint
  /** Adding to a stake that has earned rewards since (credits them first). */
  stakeMore: bigint
  claimRewardsFirst: bigint
  claimRewardsRepeat: bigint
  requestUnstake: bigint
  withdraw: bigint
  claimIssuer: bigint
  /** Present when `protocolBps` > 0. */
  claimProtocol?: bigint
  /** Proof length (sibling hashes) of the measured rebate claims. */
  proofLength: number
}

const batchUri = 'ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'

/**
 * Deploys a fresh fixture on `anvil` and measures the gas of every user-facing transaction
 * of the settlement contract, from real transaction receipts. The receipt count of a batch is
 * only a number in `settle`'s calldata, so settlement gas does not grow with it.
 *
 * @example
 * const anvil = await startAnvil()
 * const gas = await measureSettlementGas(anvil, { users: 10_000 })
 * gas.settleByReceiptCount[10_000]
 */
export async function measureSettlementGas(
  anvil: Anvil,
  parameters: MeasureSettlementGasParameters = {},
): Promise<SettlementGas> {
  const { users = 10_000, receiptCounts = [100, 10_000, 100_000], protocolBps = 0 } = parameters
  const fx = await deploySettlementFixture(anvil, {
    shares: { issuerBps: 6000 - protocolBps, supportersBps: 2500, usersBps: 1500, protocolBps },
  })
  const { settlement, assetId, settler } = fx
  const [alice, bob, claimant, early] = fx.others as [
    (typeof fx.others)[0],
    (typeof fx.others)[0],
    (typeof fx.others)[0],
    (typeof fx.others)[0],
  ]
  const gasOf = async (sent: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) => {
    const receipt = await (await sent).wait()
    if (!receipt) throw new Error('not mined')
    return receipt.gasUsed
  }

  // Many users with a rebate each epoch (fixed addresses, so every run measures the same
  // proofs); the claimant and an early claimant are two of them.
  const others: RebateEntry[] = Array.from({ length: Math.max(users - 2, 1) }, (_, i) => ({
    user: getAddress(dataSlice(keccak256(toBeHex(i, 32)), 12)) as Address,
    cumulativeAmount: BigInt(i + 1),
  }))
  let epoch = 0
  const trees: ReturnType<typeof createRebateTree>[] = []
  const settleBatch = (receiptCount: number, revenue?: bigint) => {
    epoch++
    const tree = createRebateTree([
      ...others,
      { user: claimant.address as Address, cumulativeAmount: 1_000n + BigInt(epoch) },
      { user: early.address as Address, cumulativeAmount: 2_000n + BigInt(epoch) },
    ])
    trees[epoch] = tree
    return settlement
      .connect(settler)
      .settle(
        assetId,
        epoch,
        revenue ?? 1_000_000_000n + BigInt(epoch),
        keccak256(toBeHex(epoch, 32)),
        tree.root,
        receiptCount,
        batchUri,
        keccak256(toBeHex(epoch + 1_000_000, 32)),
      )
  }
  const claimArgs = (who: { address: string }, e: number) => {
    const tree = trees[e]!
    const entry = tree.entry(who.address as Address)
    return [e, entry.user, entry.cumulativeAmount, tree.getProof(entry)] as const
  }
  const claim = (who: { address: string }, e: number) =>
    settlement.connect(who as typeof claimant).claimRebate(assetId, ...claimArgs(who, e))

  // Stake far above a batch's supporters' share (2.5e8), as on an asset supporters back.
  const stakeFirst = await gasOf(settlement.connect(alice).stake(assetId, 100_000_000_000n))
  await gasOf(settlement.connect(bob).stake(assetId, 300_000_000_000n))
  const settleFirst = await gasOf(settleBatch(10))
  const claimRebateFirst = await gasOf(claim(claimant, 1))
  // The stake placed before epoch 1 activated at its settle; the second settle releases the
  // share held at the first: steady state starts after it.
  await gasOf(settleBatch(10))
  const settleByReceiptCount: Record<number, bigint> = {}
  for (const count of receiptCounts) settleByReceiptCount[count] = await gasOf(settleBatch(count))
  await gasOf(claim(early, epoch))
  const claimRebateRepeat = await gasOf(claim(claimant, epoch))
  const claimRebateFirstOfEpoch = await gasOf(claim(claimant, epoch - 1))
  for (let i = 0; i < 4; i++) await gasOf(settleBatch(10))
  const claimRebatesFourEpochs = await gasOf(
    settlement.connect(claimant).claimRebates(
      assetId,
      claimant.address,
      [epoch - 3, epoch - 2, epoch - 1, epoch].map((e) => {
        const [, , amount, proof] = claimArgs(claimant, e)
        return { epoch: e, amount, proof }
      }),
    ),
  )
  const claimRewardsFirst = await gasOf(settlement.connect(alice).claimRewards(assetId))
  await gasOf(settleBatch(10))
  const stakeMore = await gasOf(settlement.connect(bob).stake(assetId, 100_000_000_000n))
  await gasOf(settleBatch(10))
  await gasOf(settleBatch(10))
  const claimRewardsRepeat = await gasOf(settlement.connect(alice).claimRewards(assetId))
  // The settler deposits once; the next settle takes its revenue from the deposit.
  await gasOf(fx.token.connect(settler).approve(fx.settlementAddress, MaxUint256))
  await gasOf(settlement.connect(settler).deposit(assetId, 100_000_000_000n))
  await gasOf(settleBatch(10_000))
  const settleFromDeposit = await gasOf(settleBatch(10_000))
  const depositTopUp = await gasOf(settlement.connect(settler).deposit(assetId, 3n * 10n ** 13n))
  // Batches whose supporters' share (2.5e12) exceeds the active stake (5e11): held, twice.
  const heldRevenue = 10n ** 13n
  await gasOf(settleBatch(10_000, heldRevenue))
  const settleFromDepositHeld = await gasOf(settleBatch(10_000, heldRevenue))
  const requestUnstake = await gasOf(settlement.connect(alice).requestUnstake(assetId, 500_000n))
  await anvil.increaseTime(fx.unbondingDelay)
  const withdraw = await gasOf(settlement.connect(alice)['withdraw(bytes32)'](assetId))
  const claimIssuer = await gasOf(settlement.claimIssuer(assetId))
  const claimProtocol = protocolBps > 0 ? await gasOf(settlement.claimProtocol(assetId)) : undefined
  const tree = trees[1]!
  return {
    settleFirst,
    settleByReceiptCount,
    settleFromDeposit,
    depositTopUp,
    settleFromDepositHeld,
    claimRebateFirst,
    claimRebateRepeat,
    claimRebateFirstOfEpoch,
    claimRebatesFourEpochs,
    stakeFirst,
    stakeMore,
    claimRewardsFirst,
    claimRewardsRepeat,
    requestUnstake,
    withdraw,
    claimIssuer,
    ...(claimProtocol === undefined ? {} : { claimProtocol }),
    proofLength: tree.getProof(tree.entry(claimant.address as Address)).length,
  }
}
