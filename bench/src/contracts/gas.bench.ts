import { measureSettlementGas, startAnvil } from '@rma/contracts/testing'
import { defineBench } from '../lib/defineBench.js'
import { figure } from '../lib/figure.js'

/**
 * Gas of the settlement contract, from real transaction receipts on a local anvil node
 * (`gasUsed`, so the 21,000 base and calldata are included). Counts, not ratios: gas is
 * deterministic. A batch's receipt count is a plain number in `settle`'s calldata (receipts
 * stay off chain behind their Merkle root), so a batch of 100k receipts costs what one of 100
 * costs; the rebate tree's size only sets the proof length of `claimRebate`. Each epoch's
 * rebate root is immutable, so settle writes one fresh slot per batch (22,100 gas): only a
 * settle paid from the settler's deposit meets the 80k target, top-ups included (see
 * packages/contracts/README.md and `pnpm bench -- settleGas` for the client's average). Steady
 * state has stake far above a batch's supporters' share; the held case is its own figure.
 */
export default defineBench(async ({ quick, log }) => {
  const users = quick ? 10_000 : 100_000
  const receiptCounts = [100, 10_000, 100_000]
  const anvil = await startAnvil()
  try {
    const gas = await measureSettlementGas(anvil, { users, receiptCounts })
    log(`measured with ${users} users in the rebate tree (proof of ${gas.proofLength} hashes)`)
    const withFee = await measureSettlementGas(anvil, { users: 100, protocolBps: 500 })
    const steady = Number(gas.settleByReceiptCount[10_000])
    const count = (
      name: string,
      value: bigint | number,
      target: number | null,
      detail?: Record<string, unknown>,
    ) =>
      figure({
        name,
        value: Number(value),
        unit: 'gas',
        baseline: null,
        better: 'lower',
        target,
        ...(detail ? { detail } : {}),
      })
    return [
      ...receiptCounts.map((receipts) =>
        count(
          `settle gas per batch, ${receipts.toLocaleString('en-US')} receipts`,
          gas.settleByReceiptCount[receipts]!,
          80_000,
          {
            anchor: 'prototype Merkle-root settle ~87k',
            epoch: 'steady state',
            payment: 'transferFrom under a standing allowance (no approve per batch)',
            protocolBps: 0,
          },
        ),
      ),
      count(
        'settle gas per batch paid from a deposit, 10,000 receipts',
        gas.settleFromDeposit,
        80_000,
        {
          note: 'the deposit sits in a slot settle writes anyway (no token transfer)',
          withTopUpPer24Batches: Number(gas.settleFromDeposit + gas.depositTopUp / 24n),
        },
      ),
      count('deposit top-up gas', gas.depositTopUp, null, {
        note: 'the settlement client tops up for 24 batches when the deposit runs short',
      }),
      count(
        'settle gas paid from a deposit while the supporters’ share is held',
        gas.settleFromDepositHeld,
        null,
        {
          note: 'a batch’s supporters’ share above the active stake: the held amount is rewritten',
        },
      ),
      figure({
        name: 'settle gas per settled receipt, 10k-receipt batch',
        value: steady / 10_000,
        unit: 'gas/call',
        baseline: null,
        better: 'lower',
        target: 10,
        detail: { settleGas: steady, anchor: 'x402 exact: one transfer per call, 61k–90k gas' },
      }),
      count(
        'settle gas per batch with a 5% protocol fee',
        withFee.settleByReceiptCount[10_000]!,
        null,
        {
          note: 'the fee counter has a slot of its own (beside its claimed counter)',
          fromDeposit: Number(withFee.settleFromDeposit),
        },
      ),
      count('claimRebate gas, first claim', gas.claimRebateFirst, null, {
        users,
        proofLength: gas.proofLength,
      }),
      count(
        'claimRebate gas, repeat claim (an epoch others claimed from)',
        gas.claimRebateRepeat,
        70_000,
        {
          users,
          proofLength: gas.proofLength,
          anchor: 'Uniswap merkle-distributor 62k–95k, once per epoch',
        },
      ),
      count('claimRebate gas, an epoch’s first claim', gas.claimRebateFirstOfEpoch, null, {
        users,
        note: 'starts the epoch’s claimed counter (a fresh slot)',
      }),
      count('claimRebates gas, 4 epochs in one transaction', gas.claimRebatesFourEpochs, null, {
        users,
      }),
      count('stake gas, first stake', gas.stakeFirst, null),
      count('stake gas, adding to an earning stake', gas.stakeMore, null),
      count('claimRewards gas, repeat claim', gas.claimRewardsRepeat, null, {
        first: Number(gas.claimRewardsFirst),
        anchor: '0xSplits ~7k per recipient per distribution; here O(1) per batch',
      }),
    ]
  } finally {
    await anvil.stop()
  }
})
