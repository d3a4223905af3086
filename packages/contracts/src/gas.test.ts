import { afterAll, beforeAll, expect, test } from 'vitest'
import { type Anvil, measureSettlementGas, startAnvil } from './testing/index.js'

// The design's targets are settle <= 80k gas per batch in steady state and a repeat rebate
// claim <= 70k. Per-epoch immutable rebate roots cost settle one fresh storage slot (22,100 gas)
// and measured pulls two balance reads, so only a settle paid from the settler's deposit (the
// settlement client's default) meets 80k; these ceilings pin what the README reports: a
// regression shows up here, not as a silent drift.
let anvil: Anvil
beforeAll(async () => {
  anvil = await startAnvil()
}, 30_000)
afterAll(() => anvil?.stop())

test('settle is flat in the batch size and within its ceilings; claims too', async () => {
  const snapshot = await anvil.snapshot()
  const gas = await measureSettlementGas(anvil, { users: 10_000 })
  await anvil.revert(snapshot)
  console.log('gas (protocol fee 0):', gas)
  const settles = Object.values(gas.settleByReceiptCount).map(Number)
  // 96k, was 95k: the fraud proofs need the optimizer at 500 runs (not 10,000) for the contract
  // to fit EIP-170's 24 KiB, which costs the pulled settle ~600 gas.
  expect(Math.max(...settles)).toBeLessThanOrEqual(96_000)
  // The receipt count costs only its calldata bytes (16 gas per non-zero byte).
  expect(Math.max(...settles) - Math.min(...settles)).toBeLessThan(64)
  // Paid from a deposit, a batch skips the token transfer and its two balance reads, and the
  // deposit sits in a slot settle writes anyway.
  // 74.5k, was 74k: the same 500-run optimizer costs this path ~240 gas.
  expect(Number(gas.settleFromDeposit)).toBeLessThanOrEqual(74_500)
  expect(Number(gas.settleFromDeposit) / 10_000).toBeLessThanOrEqual(10)
  // A top-up shared by 24 batches (the client's default) keeps the average within 80k.
  expect(Number(gas.settleFromDeposit + gas.depositTopUp / 24n)).toBeLessThanOrEqual(80_000)
  // A held supporters' share (stake below one batch's share) costs its slot on top.
  expect(Number(gas.settleFromDepositHeld)).toBeGreaterThan(Number(gas.settleFromDeposit))
  expect(Number(gas.settleFromDepositHeld)).toBeLessThanOrEqual(102_000)
  expect(gas.proofLength).toBeGreaterThanOrEqual(13) // a 10k-leaf tree is 13-14 deep
  // A claim reads and writes one slot of its epoch (root prefix and what is left of the
  // funding): the first claim of an epoch costs the same as a repeat.
  expect(Number(gas.claimRebateRepeat)).toBeLessThanOrEqual(67_000)
  expect(gas.claimRebateFirstOfEpoch).toBe(gas.claimRebateRepeat)
  // Four epochs in one claimRebates cost less than three single claims.
  expect(Number(gas.claimRebatesFourEpochs)).toBeLessThan(3 * Number(gas.claimRebateRepeat))
}, 120_000)

test('a protocol fee costs settle one slot update (its counter has a slot of its own)', async () => {
  const gas = await measureSettlementGas(anvil, { users: 100, protocolBps: 500 })
  const without = await measureSettlementGas(anvil, { users: 100, protocolBps: 0 })
  console.log('gas (protocol fee 5%):', gas)
  // A cold read and a write of the fee's slot (2,100 + 2,900) and little else.
  for (const extra of [
    gas.settleByReceiptCount[10_000]! - without.settleByReceiptCount[10_000]!,
    gas.settleFromDeposit - without.settleFromDeposit,
  ]) {
    expect(Number(extra)).toBeGreaterThanOrEqual(5_000)
    expect(Number(extra)).toBeLessThanOrEqual(5_300)
  }
  expect(gas.claimProtocol).toBeGreaterThan(0n)
}, 120_000)
