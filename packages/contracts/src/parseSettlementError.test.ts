import { Interface, ZeroAddress } from 'ethers'
import { expect, test } from 'vitest'
import { mined, settleArgs, useSettlementFixture } from '../test/helpers.js'
import { rmaSettlementAbi } from './artifacts/RMASettlement.js'
import { parseSettlementError } from './parseSettlementError.js'

/** Every error of the ABI encoded with placeholder arguments. */
function settlementErrors() {
  const iface = new Interface(rmaSettlementAbi)
  const out: { name: string; data: string }[] = []
  iface.forEachError((fragment) => {
    const args = fragment.inputs.map((input) => (input.type === 'address' ? ZeroAddress : 1n))
    out.push({ name: fragment.name, data: iface.encodeErrorResult(fragment, args) })
  })
  return out
}

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
  expect(parsed?.message).toBe('wrong epoch: the next epoch to settle is 2')
})

test('says how much a settler lacks, by name, for a token balance or allowance', async () => {
  const { settlement, assetId, settler, token, settlementAddress, others } = ctx.fx
  // Empty the settler's balance: the token reverts ERC20InsufficientBalance inside settle.
  const balance = await token.balanceOf(settler.address)
  await mined(token.connect(settler).transfer(others[0]!.address, balance))
  const names = { [settler.address.toLowerCase()]: 'the settler' }
  const broke = parseSettlementError(
    await failure(settlement.connect(settler).settle(...settleArgs(assetId, 1, 513n))),
    { names },
  )
  expect(broke?.name).toBe('ERC20InsufficientBalance')
  expect(broke?.message).toBe('the settler holds 0 of 513 needed')
  await mined(token.mint(settler.address, 1_000n))
  await mined(token.connect(settler).approve(settlementAddress, 12n))
  const unapproved = parseSettlementError(
    await failure(settlement.connect(settler).settle(...settleArgs(assetId, 1, 513n))),
  )
  expect(unapproved?.message).toBe(
    `${settlementAddress} may spend 12 of 513 needed: approve the settlement contract`,
  )
})

test('every custom error of the ABI has a sentence of its own', () => {
  const errors = settlementErrors()
  expect(errors.length).toBeGreaterThan(20)
  for (const { name, data } of errors) {
    const parsed = parseSettlementError({ data })
    expect(parsed?.name).toBe(name)
    // A sentence, not the fallback `Name(args)`.
    expect(parsed?.message.startsWith(`${name}(`)).toBe(false)
  }
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
