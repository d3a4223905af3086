import { expect, test } from 'vitest'
import { mined, settleArgs, useSettlementFixture } from '../test/helpers.js'
import { parseSettlementError } from './parseSettlementError.js'

const ctx = useSettlementFixture({
  shares: { issuerBps: 10_000, supportersBps: 0, usersBps: 0, protocolBps: 0 },
})

async function failure(sent: Promise<unknown>): Promise<unknown> {
  return sent.then(
    () => {
      throw new Error('expected a revert')
    },
    (e: unknown) => e,
  )
}

test('decodes a custom error with its arguments from a failed transaction', async () => {
  const { settlement, assetId, settler } = ctx.fx
  await mined(settlement.connect(settler).settle(...settleArgs(assetId, 1, 1n)))
  const error = await failure(settlement.connect(settler).settle(...settleArgs(assetId, 1, 1n)))
  const parsed = parseSettlementError(error)
  expect(parsed?.name).toBe('BadEpoch')
  expect(parsed?.signature).toBe('BadEpoch(uint64)')
  expect(parsed?.args.expected).toBe(2n)
})

test('decodes from a staticCall and an estimateGas', async () => {
  const { settlement, assetId } = ctx.fx
  for (const call of [
    () => settlement.settle.staticCall(...settleArgs(assetId, 1, 1n)),
    () => settlement.settle.estimateGas(...settleArgs(assetId, 1, 1n)),
  ])
    expect(parseSettlementError(await failure(call()))?.name).toBe('NotSettler')
})

test('returns null for errors that are not the contract’s', () => {
  expect(parseSettlementError(new Error('network down'))).toBeNull()
  expect(parseSettlementError({ data: '0xdeadbeef' })).toBeNull()
  expect(parseSettlementError(undefined)).toBeNull()
  expect(parseSettlementError('0x')).toBeNull()
})
