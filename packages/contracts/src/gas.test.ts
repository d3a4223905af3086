import { afterAll, beforeAll, expect, test } from 'vitest'
import { type Anvil, measureSettlementGas, startAnvil } from './testing/index.js'

// Targets from the design: settle <= 80k gas per batch in steady state whatever its size
// (so <= 10 gas per call at 10k calls), a repeat rebate claim <= 70k.
let anvil: Anvil
beforeAll(async () => {
  anvil = await startAnvil()
}, 30_000)
afterAll(() => anvil?.stop())

test('settle is flat in the batch size and within budget; claims are within budget', async () => {
  const snapshot = await anvil.snapshot()
  const gas = await measureSettlementGas(anvil, { users: 10_000 })
  await anvil.revert(snapshot)
  console.log('gas (protocol fee 0):', gas)
  const settles = Object.values(gas.settleByReceiptCount)
  expect(Math.max(...settles.map(Number))).toBeLessThanOrEqual(80_000)
  // The receipt count costs only its calldata bytes (16 gas per non-zero byte).
  expect(Math.max(...settles.map(Number)) - Math.min(...settles.map(Number))).toBeLessThan(64)
  expect(Number(gas.settleByReceiptCount[10_000]) / 10_000).toBeLessThanOrEqual(10)
  expect(gas.proofLength).toBeGreaterThanOrEqual(13) // a 10k-leaf tree is 13-14 deep
  expect(Number(gas.claimRebateRepeat)).toBeLessThanOrEqual(70_000)
}, 120_000)

test('with a protocol fee, settle writes one more slot (the token’s protocol balance)', async () => {
  const gas = await measureSettlementGas(anvil, { users: 100, protocolBps: 500 })
  console.log('gas (protocol fee 5%):', gas)
  const steady = Number(gas.settleByReceiptCount[10_000])
  expect(steady).toBeLessThanOrEqual(86_000)
  expect(gas.claimProtocol).toBeGreaterThan(0n)
}, 120_000)
