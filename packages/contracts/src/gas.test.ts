import { afterAll, beforeAll, expect, test } from 'vitest'
import { type Anvil, measureSettlementGas, startAnvil } from './testing/index.js'

// The design's targets are settle <= 80k gas per batch in steady state and a repeat rebate
// claim <= 70k. Per-epoch immutable rebate roots cost settle one fresh storage slot (22,100 gas)
// and measured pulls two balance reads, so these ceilings pin what the README reports instead:
// a regression shows up here, not as a silent drift.
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
  expect(Math.max(...settles)).toBeLessThanOrEqual(103_000)
  // The receipt count costs only its calldata bytes (16 gas per non-zero byte).
  expect(Math.max(...settles) - Math.min(...settles)).toBeLessThan(64)
  // Paid from a deposit, a batch skips the token transfer and its two balance reads.
  expect(Number(gas.settleFromDeposit)).toBeLessThanOrEqual(92_000)
  expect(Number(gas.settleFromDeposit) / 10_000).toBeLessThanOrEqual(10)
  expect(gas.proofLength).toBeGreaterThanOrEqual(13) // a 10k-leaf tree is 13-14 deep
  expect(Number(gas.claimRebateRepeat)).toBeLessThanOrEqual(71_000)
  // Four epochs in one claimRebates cost less than three single claims.
  expect(Number(gas.claimRebatesFourEpochs)).toBeLessThan(3 * Number(gas.claimRebateRepeat))
}, 120_000)

test('a protocol fee costs settle nothing more (its counter shares a slot)', async () => {
  const gas = await measureSettlementGas(anvil, { users: 100, protocolBps: 500 })
  const without = await measureSettlementGas(anvil, { users: 100, protocolBps: 0 })
  console.log('gas (protocol fee 5%):', gas)
  expect(gas.settleByReceiptCount[10_000]).toBe(without.settleByReceiptCount[10_000])
  expect(gas.claimProtocol).toBeGreaterThan(0n)
}, 120_000)
