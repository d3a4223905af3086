import { type Address, createRebateTree, type RebateEntry } from '@rma/core'
import { dataSlice, getAddress, keccak256, toBeHex } from 'ethers'
import { deploySettlementFixture } from './deploySettlementFixture.js'
import type { Anvil } from './startAnvil.js'

export type MeasureSettlementGasParameters = {
  /** Users in the rebate tree (sets the proof length of `claimRebate`; default 10,000). */
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
  /** Steady-state settlements (epoch >= 2), by receipt count. */
  settleByReceiptCount: Record<number, bigint>
  claimRebateFirst: bigint
  claimRebateRepeat: bigint
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
 * gas.settleByReceiptCount[10_000] // ~78k
 */
export async function measureSettlementGas(
  anvil: Anvil,
  parameters: MeasureSettlementGasParameters = {},
): Promise<SettlementGas> {
  const { users = 10_000, receiptCounts = [100, 10_000, 100_000], protocolBps = 0 } = parameters
  const fx = await deploySettlementFixture(anvil, {
    shares: { issuerBps: 6000 - protocolBps, supportersBps: 2500, usersBps: 1500, protocolBps },
  })
  const { settlement, assetId, settler, tokenAddress } = fx
  const [alice, bob, claimant] = fx.others as [
    (typeof fx.others)[0],
    (typeof fx.others)[0],
    (typeof fx.others)[0],
  ]
  const gasOf = async (sent: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) => {
    const receipt = await (await sent).wait()
    if (!receipt) throw new Error('not mined')
    return receipt.gasUsed
  }

  // Many users with a rebate each (fixed addresses, so every run measures the same proofs);
  // the claimant is one of them.
  const others: RebateEntry[] = Array.from({ length: Math.max(users - 1, 1) }, (_, i) => ({
    user: getAddress(dataSlice(keccak256(toBeHex(i, 32)), 12)) as Address,
    cumulativeAmount: BigInt(i + 1),
  }))
  let claimantTotal = 0n
  let epoch = 0
  const settleBatch = (receiptCount: number) => {
    epoch++
    claimantTotal += 1_000n
    const tree = createRebateTree([
      ...others,
      { user: claimant.address as Address, cumulativeAmount: claimantTotal },
    ])
    const sent = settlement
      .connect(settler)
      .settle(
        assetId,
        epoch,
        1_000_000_000n + BigInt(epoch),
        keccak256(toBeHex(epoch, 32)),
        tree.root,
        receiptCount,
        batchUri,
        keccak256(toBeHex(epoch + 1_000_000, 32)),
      )
    return { tree, sent }
  }
  const claim = (tree: ReturnType<typeof createRebateTree>) => {
    const entry = tree.entry(claimant.address as Address)
    return settlement
      .connect(claimant)
      .claimRebate(assetId, entry.user, entry.cumulativeAmount, tree.getProof(entry))
  }

  const stakeFirst = await gasOf(settlement.connect(alice).stake(assetId, 1_000_000n))
  await gasOf(settlement.connect(bob).stake(assetId, 3_000_000n))
  const first = settleBatch(10)
  const settleFirst = await gasOf(first.sent)
  const claimRebateFirst = await gasOf(claim(first.tree))
  const settleByReceiptCount: Record<number, bigint> = {}
  let tree = first.tree
  for (const count of receiptCounts) {
    const batch = settleBatch(count)
    settleByReceiptCount[count] = await gasOf(batch.sent)
    tree = batch.tree
  }
  const claimRebateRepeat = await gasOf(claim(tree))
  const claimRewardsFirst = await gasOf(settlement.connect(alice).claimRewards(assetId))
  await gasOf(settleBatch(10).sent)
  const stakeMore = await gasOf(settlement.connect(bob).stake(assetId, 1_000_000n))
  await gasOf(settleBatch(10).sent)
  const claimRewardsRepeat = await gasOf(settlement.connect(alice).claimRewards(assetId))
  const requestUnstake = await gasOf(settlement.connect(alice).requestUnstake(assetId, 500_000n))
  await anvil.increaseTime(fx.unbondingDelay)
  const withdraw = await gasOf(settlement.connect(alice).withdraw(assetId))
  const claimIssuer = await gasOf(settlement.claimIssuer(assetId))
  const claimProtocol =
    protocolBps > 0 ? await gasOf(settlement.claimProtocol(tokenAddress)) : undefined
  return {
    settleFirst,
    settleByReceiptCount,
    claimRebateFirst,
    claimRebateRepeat,
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
