import { describe, expect, test } from 'vitest'
import {
  addAsset,
  argsOf,
  eventsOf,
  expectRevert,
  mined,
  settleArgs,
  useSettlementFixture,
} from '../test/helpers.js'
import type { RmaSettlementContract, TestTokenContract } from './types.js'

const shares = { issuerBps: 6000, supportersBps: 2500, usersBps: 1500, protocolBps: 0 }

/** The contract's balance of the token and what every listed asset's ledger owes. */
async function books(settlement: RmaSettlementContract, token: TestTokenContract, ids: string[]) {
  const ledgers = await Promise.all(ids.map((id) => settlement.ledgerOf(id)))
  return {
    balance: await token.balanceOf(await settlement.getAddress()),
    owed: ledgers.reduce((a, b) => a + b, 0n),
  }
}

// The settler's deposit pays only that settler's batches of that asset: the current settler's
// sits in the asset's slot that settle reads, every other account's in a mapping that settle
// never reads, and `setSettler` moves the two.
describe('settler deposits: only their owner spends or withdraws them', () => {
  const ctx = useSettlementFixture({ shares })

  test('a deposit pays its own asset only: the same settler on another asset pulls', async () => {
    const { settlement, token, assetId, settler, others } = ctx.fx
    const second = await addAsset(ctx.fx, { issuer: others[1]!, settler })
    await mined(settlement.connect(settler).deposit(assetId, 100_000n))
    const wallet = await token.balanceOf(settler.address)
    await mined(settlement.connect(settler).settle(...settleArgs(second, 1, 40_000n)))
    // Pulled from the wallet; the first asset's deposit is untouched and its books unchanged.
    expect(await token.balanceOf(settler.address)).toBe(wallet - 40_000n)
    expect(await settlement.depositOf(assetId, settler.address)).toBe(100_000n)
    expect(await settlement.depositOf(second, settler.address)).toBe(0n)
    expect(await settlement.ledgerOf(assetId)).toBe(100_000n)
    const { balance, owed } = await books(settlement, token, [assetId, second])
    expect(balance).toBe(owed)
  })

  test('no one else withdraws a deposit: not the issuer, not another settler, not an outsider', async () => {
    const { settlement, token, assetId, settler, issuer, others } = ctx.fx
    await mined(settlement.connect(settler).deposit(assetId, 70_000n))
    const before = await token.balanceOf(await settlement.getAddress())
    for (const thief of [issuer, others[0]!, ctx.fx.owner]) {
      await expectRevert(
        settlement.connect(thief).withdrawDeposit(assetId, 1n),
        'InsufficientDeposit',
        [0n],
      )
    }
    // Another asset's settler (same token) cannot reach it either.
    const second = await addAsset(ctx.fx, { issuer: others[1]!, settler: others[2]! })
    await expectRevert(
      settlement.connect(others[2]!).withdrawDeposit(assetId, 1n),
      'InsufficientDeposit',
      [0n],
    )
    await expectRevert(
      settlement.connect(settler).withdrawDeposit(second, 1n),
      'InsufficientDeposit',
      [0n],
    )
    expect(await token.balanceOf(await settlement.getAddress())).toBe(before)
    expect(await settlement.depositOf(assetId, settler.address)).toBe(70_000n)
  })

  test('a new settler cannot spend the previous one’s deposit; it stays the previous one’s', async () => {
    const { settlement, token, assetId, settler, issuer, others } = ctx.fx
    const next = others[3]!
    await mined(settlement.connect(settler).deposit(assetId, 90_000n))
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 1, 30_000n)))
    expect(await settlement.depositOf(assetId, settler.address)).toBe(60_000n)

    // The issuer hands the asset to a new settler: its first batch is pulled from its wallet.
    await mined(settlement.connect(issuer).setSettler(assetId, next.address))
    expect(await settlement.depositOf(assetId, settler.address)).toBe(60_000n)
    expect(await settlement.depositOf(assetId, next.address)).toBe(0n)
    const wallet = await token.balanceOf(next.address)
    await mined(settlement.connect(next).settle(...settleArgs(assetId, 2, 50_000n)))
    expect(await token.balanceOf(next.address)).toBe(wallet - 50_000n)
    expect(await settlement.depositOf(assetId, settler.address)).toBe(60_000n)
    await expectRevert(
      settlement.connect(next).withdrawDeposit(assetId, 1n),
      'InsufficientDeposit',
      [0n],
    )
    // The previous settler can no longer settle, but withdraws what is its own.
    await expectRevert(
      settlement.connect(settler).settle(...settleArgs(assetId, 3, 1n)),
      'NotSettler',
    )
    const mine = await token.balanceOf(settler.address)
    await mined(settlement.connect(settler).withdrawDeposit(assetId, 60_000n))
    expect(await token.balanceOf(settler.address)).toBe(mine + 60_000n)
    const { balance, owed } = await books(settlement, token, [assetId])
    expect(balance).toBe(owed)
    expect((await settlement.getAsset(assetId)).deposits).toBe(0n)
  })

  test('a deposit made before becoming settler pays once the role moves, and moves back out', async () => {
    const { settlement, token, assetId, settler, issuer, others } = ctx.fx
    const next = others[3]!
    // An outsider's deposit is its own: the settler's batch does not touch it.
    await mined(settlement.connect(next).deposit(assetId, 80_000n))
    const wallet = await token.balanceOf(settler.address)
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 1, 10_000n)))
    expect(await token.balanceOf(settler.address)).toBe(wallet - 10_000n)
    expect(await settlement.depositOf(assetId, next.address)).toBe(80_000n)

    await mined(settlement.connect(issuer).setSettler(assetId, next.address))
    const settled = await mined(settlement.connect(next).settle(...settleArgs(assetId, 2, 30_000n)))
    expect(argsOf(eventsOf(settlement, settled, 'Settled')[0]).revenue).toBe(30_000n)
    expect(await settlement.depositOf(assetId, next.address)).toBe(50_000n)
    // Back to the first settler: the rest stays with `next`, withdrawable, never spent.
    await mined(settlement.connect(issuer).setSettler(assetId, settler.address))
    expect(await settlement.depositOf(assetId, next.address)).toBe(50_000n)
    const before = await token.balanceOf(settler.address)
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 3, 20_000n)))
    expect(await token.balanceOf(settler.address)).toBe(before - 20_000n)
    expect(await settlement.depositOf(assetId, next.address)).toBe(50_000n)
    // Setting the same settler again moves nothing.
    await mined(settlement.connect(issuer).setSettler(assetId, settler.address))
    expect(await settlement.depositOf(assetId, next.address)).toBe(50_000n)
    expect((await settlement.getAsset(assetId)).deposits).toBe(50_000n)
    const { balance, owed } = await books(settlement, token, [assetId])
    expect(balance).toBe(owed)
  })

  test('a deposit short of the batch is not used: the whole revenue is pulled, or nothing moves', async () => {
    const { settlement, token, assetId, settler, others } = ctx.fx
    await mined(settlement.connect(settler).deposit(assetId, 5_000n))
    const wallet = await token.balanceOf(settler.address)
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 1, 8_000n)))
    expect(await token.balanceOf(settler.address)).toBe(wallet - 8_000n)
    expect(await settlement.depositOf(assetId, settler.address)).toBe(5_000n)

    // A wallet that cannot pay either: the settle reverts and nothing moves.
    await mined(token.connect(settler).transfer(others[5]!.address, wallet - 8_000n))
    const asset = await settlement.getAsset(assetId)
    await expectRevert(
      settlement.connect(settler).settle(...settleArgs(assetId, 2, 8_000n)),
      'ERC20InsufficientBalance',
    )
    const after = await settlement.getAsset(assetId)
    expect([after.epoch, after.deposits, after.ledger]).toEqual([
      asset.epoch,
      asset.deposits,
      asset.ledger,
    ])
    expect(await settlement.depositOf(assetId, settler.address)).toBe(5_000n)
  })
})

describe('settler deposits in a fee-on-transfer token (1%)', () => {
  const ctx = useSettlementFixture({ shares, tokenKind: 'feeOnTransfer' })

  test('a top-up credits what arrived; one short by the fee is not spent in part', async () => {
    const { settlement, token, assetId, settler } = ctx.fx
    const deposited = await mined(settlement.connect(settler).deposit(assetId, 50_000n))
    expect(argsOf(eventsOf(settlement, deposited, 'Deposited')[0]).amount).toBe(49_500n)
    expect(await settlement.depositOf(assetId, settler.address)).toBe(49_500n)
    // A batch of the amount sent: the deposit is 500 short, so the revenue is pulled (and
    // credited as it arrives), and the deposit stays whole.
    const settled = await mined(
      settlement.connect(settler).settle(...settleArgs(assetId, 1, 50_000n)),
    )
    expect(argsOf(eventsOf(settlement, settled, 'Settled')[0]).revenue).toBe(49_500n)
    expect(await settlement.depositOf(assetId, settler.address)).toBe(49_500n)
    // A batch it covers is taken from it at face value.
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 2, 49_500n)))
    expect(await settlement.depositOf(assetId, settler.address)).toBe(0n)
    const { balance, owed } = await books(settlement, token, [assetId])
    expect(balance).toBe(owed)
  })
})
