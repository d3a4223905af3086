import { createPriceTable, type Hex } from '@rma/core'
import { Wallet } from 'ethers'
import { describe, expect, test } from 'vitest'
import { commitPriceTable } from './commitPriceTable.js'
import { SettlementError } from './errors.js'

// A signer with no provider: any attempt to send would throw something else than the typed
// errors below, so these tests also show that nothing is sent for bad input.
const signer = Wallet.createRandom()
const base = {
  signer,
  contract: `0x${'5e'.repeat(20)}`,
  assetId: `0x${'a5'.repeat(32)}` as Hex,
  uri: 'https://example.com/prices.json',
}

async function refused(parameters: Parameters<typeof commitPriceTable>[0]) {
  const error = await commitPriceTable(parameters).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(SettlementError)
  return error as SettlementError
}

describe('commitPriceTable refuses bad input before sending anything', () => {
  test('a table that cannot be committed (a snapshot priced unlike its base)', async () => {
    const table = createPriceTable({
      models: {
        'gpt-4o': { input: 2_500_000n, output: 10_000_000n },
        'gpt-4o-2024-05-13': { input: 5_000_000n, output: 15_000_000n },
      },
    })
    const error = await refused({ ...base, table, effectiveFrom: 0 })
    expect(error.code).toBe('INVALID_OPTIONS')
    expect(error.shortMessage).toMatch(/^Snapshot "gpt-4o-2024-05-13" and its base "gpt-4o"/)
  })

  test('no price in force at effectiveFrom, or an effectiveFrom that is not unix seconds', async () => {
    const table = createPriceTable({
      models: { m: [{ effectiveFrom: 1_000, input: 1n, output: 1n }] },
    })
    expect((await refused({ ...base, table, effectiveFrom: 999 })).shortMessage).toBe(
      'No price is in force at 999: a price-table tree needs at least one priced model (use a unix time at or after the earliest effectiveFrom).',
    )
    for (const effectiveFrom of [-1, 1.5, Number.NaN])
      expect((await refused({ ...base, table, effectiveFrom })).shortMessage).toBe(
        '`effectiveFrom` must be unix seconds.',
      )
  })
})
