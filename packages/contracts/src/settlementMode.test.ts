import { keccak256, toBeHex, type Wallet } from 'ethers'
import { describe, expect, test } from 'vitest'
import { expectRevert, mined, settleArgs, useSettlementFixture } from '../test/helpers.js'
import { rmaDomain, signVoucher } from '../test/vouchers.js'
import { parseSettlementError } from './parseSettlementError.js'

const shares = { issuerBps: 5999, supportersBps: 2501, usersBps: 1333, protocolBps: 167 }

// One settlement mode per asset, fixed by its first settlement: a user's voucher signs the
// chain's running total, which includes receipts already settled postpaid, so a prepaid
// settlement on a postpaid asset would debit those receipts a second time.
describe('one settlement mode per asset', () => {
  const ctx = useSettlementFixture({ shares })

  async function setup() {
    const { settlement, token, tokenAddress, settlementAddress, meter, others } = ctx.fx
    const alice = others[0]!
    const chainId = (await ctx.anvil.provider.getNetwork()).chainId
    const domain = rmaDomain(chainId, settlementAddress)
    await mined(settlement.connect(alice).depositFor(tokenAddress, alice.address, 1_000_000n))
    const voucher = (user: Wallet, seq: number, cumulativeAmount: bigint) =>
      signVoucher(user, domain, {
        assetId: ctx.fx.assetId,
        user: user.address,
        meter: meter.address,
        seq: BigInt(seq),
        receiptHash: keccak256(toBeHex(seq, 32)),
        cumulativeAmount,
      })
    const snapshot = async () => ({
      contract: await token.balanceOf(settlementAddress),
      settler: await token.balanceOf(ctx.fx.settler.address),
      alice: (await settlement.prepaidBalance(tokenAddress, alice.address)).balance,
      prepaidTotal: await settlement.prepaidTotalOf(tokenAddress),
      asset: { ...(await settlement.getAsset(ctx.fx.assetId)) },
      chain: [...(await settlement.settledVoucher(ctx.fx.assetId, meter.address, alice.address))],
    })
    return { alice, voucher, snapshot }
  }

  test('a fresh asset has no mode; its first settlement fixes it', async () => {
    const { settlement, assetId, settler } = ctx.fx
    const { alice, voucher } = await setup()
    expect(await settlement.settlementModeOf(assetId)).toBe(0n)
    await mined(settlement.connect(settler).settlePrepaid(assetId, [await voucher(alice, 1, 5n)]))
    expect(await settlement.settlementModeOf(assetId)).toBe(2n)
  })

  test('attack: receipts settled postpaid, then the running-total voucher settled prepaid: reverts, nothing moves', async () => {
    const { settlement, assetId, settler } = ctx.fx
    const { alice, voucher, snapshot } = await setup()
    // Receipts 1..3 of Alice's chain (30,000 in all) are paid by the settler in a batch.
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 1, 30_000n)))
    expect(await settlement.settlementModeOf(assetId)).toBe(1n)
    const before = await snapshot()
    // Alice's ack of receipt 4 signs the running total, receipts 1..3 included.
    const v = await voucher(alice, 4, 40_000n)
    await expectRevert(
      settlement.connect(settler).settlePrepaid(assetId, [v]),
      'SettlementModeMismatch',
      [1n],
    )
    expect(await snapshot()).toEqual(before)
    expect(before.alice).toBe(1_000_000n)
    // The postpaid mode stays: settle goes on.
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 2, 10_000n)))
    expect(await settlement.settlementModeOf(assetId)).toBe(1n)
  })

  test('reverse: an asset settled prepaid refuses settle, nothing moves', async () => {
    const { settlement, assetId, settler } = ctx.fx
    const { alice, voucher, snapshot } = await setup()
    await mined(
      settlement.connect(settler).settlePrepaid(assetId, [await voucher(alice, 1, 10_000n)]),
    )
    const before = await snapshot()
    const error = await settlement
      .connect(settler)
      .settle(...settleArgs(assetId, 2, 10_000n))
      .then(
        () => null,
        (e: unknown) => e,
      )
    const parsed = parseSettlementError(error)
    expect(parsed?.name).toBe('SettlementModeMismatch')
    expect([...(parsed?.args ?? [])]).toEqual([2n])
    expect(parsed?.message).toMatch(/settled in prepaid mode; settle it with settlePrepaid/)
    // An empty batch (revenue 0) is refused too: it would close an epoch of the other mode.
    await expectRevert(
      settlement.connect(settler).settle(...settleArgs(assetId, 2, 0n)),
      'SettlementModeMismatch',
      [2n],
    )
    expect(await snapshot()).toEqual(before)
    await mined(
      settlement.connect(settler).settlePrepaid(assetId, [await voucher(alice, 2, 15_000n)]),
    )
    expect((await snapshot()).chain).toEqual([2n, 15_000n])
  })

  test('a reverted first settlement fixes nothing; a non-settler cannot fix the mode', async () => {
    const { settlement, assetId, settler, others } = ctx.fx
    const { alice, voucher } = await setup()
    await expectRevert(
      settlement.connect(others[3]!).settle(...settleArgs(assetId, 1, 0n)),
      'NotSettler',
    )
    await expectRevert(
      settlement.connect(settler).settle(...settleArgs(assetId, 2, 0n)),
      'BadEpoch',
      [1n],
    )
    expect(await settlement.settlementModeOf(assetId)).toBe(0n)
    await mined(settlement.connect(settler).settlePrepaid(assetId, [await voucher(alice, 1, 1n)]))
    expect(await settlement.settlementModeOf(assetId)).toBe(2n)
  })
})
