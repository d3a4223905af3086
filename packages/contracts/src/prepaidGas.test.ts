import { afterAll, beforeAll, expect, test } from 'vitest'
import { type Anvil, measurePrepaidGas, startAnvil } from './testing/index.js'

// The design's target: a prepaid settle costs at most 20k gas per (asset, meter, user) chain in
// steady state, so at most 20 gas per call when a voucher covers 1,000 calls. These ceilings
// pin what the README reports, so a regression shows up here.
let anvil: Anvil
beforeAll(async () => {
  anvil = await startAnvil()
}, 30_000)
afterAll(() => anvil?.stop())

test('settlePrepaid costs at most 20k gas per chain in steady state, flat in the calls covered', async () => {
  const gas = await measurePrepaidGas(anvil, { chainsPerBatch: [1, 10, 100] })
  console.log('prepaid gas:', gas)
  const perChain = (n: number) => Number(gas.settleByChains[n]) / n
  expect(perChain(100)).toBeLessThanOrEqual(19_700)
  // A batch's fixed part (the 21,000 base, the asset's books, the batch event) is ~32k.
  expect(perChain(10)).toBeLessThanOrEqual(25_000)
  // Per call at 1,000 calls per chain.
  expect(perChain(100) / gas.callsPerChain).toBeLessThanOrEqual(20)
  // The marginal chain (100 vs 10 per batch) costs less than the average.
  const marginal = Number(gas.settleByChains[100]! - gas.settleByChains[10]!) / 90
  expect(marginal).toBeLessThanOrEqual(19_200)
  expect(Number(gas.withdraw)).toBeLessThanOrEqual(60_000)
  expect(Number(gas.depositMore)).toBeLessThanOrEqual(60_000)
}, 120_000)
