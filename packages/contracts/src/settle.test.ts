import { splitRevenue } from '@rma/core'
import { AbiCoder, type JsonRpcProvider, keccak256, toUtf8Bytes } from 'ethers'
import { describe, expect, test } from 'vitest'
import {
  argsOf,
  eventsOf,
  expectRevert,
  mined,
  settleArgs,
  useSettlementFixture,
} from '../test/helpers.js'
import { registerAsset } from './registerAsset.js'
import { storedRebateRoot } from './storedRebateRoot.js'

const shares = { issuerBps: 4321, supportersBps: 2345, usersBps: 1999, protocolBps: 1335 }
const ctx = useSettlementFixture({ shares })

/** Stakes so that settlements with a supporters' share can go through. */
async function stakeSome(amount = 1_000_000n) {
  const { settlement, assetId, others } = ctx.fx
  await mined(settlement.connect(others[0]!).stake(assetId, amount))
}

describe('settle', () => {
  test('pulls the revenue, splits it like splitRevenue and emits Settled', async () => {
    const { settlement, settlementAddress, token, assetId, settler, tokenAddress } = ctx.fx
    await stakeSome()
    const revenue = 1_234_567n
    const before = await token.balanceOf(settler.address)
    const rebateRoot = keccak256(toUtf8Bytes('root-1'))
    const receipt = await mined(
      settlement
        .connect(settler)
        .settle(
          assetId,
          1,
          revenue,
          `0x${'ab'.repeat(32)}`,
          rebateRoot,
          42,
          'https://example.com/batch-1.json',
          `0x${'cd'.repeat(32)}`,
        ),
    )
    const split = splitRevenue(revenue, shares)
    expect(argsOf(eventsOf(settlement, receipt, 'Settled')[0])).toEqual({
      assetId,
      epoch: 1n,
      revenue,
      receiptsRoot: `0x${'ab'.repeat(32)}`,
      rebateRoot,
      receiptCount: 42n,
      batchUri: 'https://example.com/batch-1.json',
      batchHash: `0x${'cd'.repeat(32)}`,
      issuerAmount: split.issuer,
      supportersAmount: split.supporters,
      usersAmount: split.users,
      protocolAmount: split.protocol,
    })
    expect(await token.balanceOf(settler.address)).toBe(before - revenue)
    expect(await token.balanceOf(settlementAddress)).toBe(revenue + 1_000_000n)
    const asset = await settlement.getAsset(assetId)
    expect(asset.epoch).toBe(1n)
    expect(asset.issuerOwed).toBe(split.issuer)
    expect(asset.issuerFunded).toBe(split.issuer)
    expect(asset.supportersFunded).toBe(split.supporters)
    expect(asset.rebatesFunded).toBe(split.users)
    expect(asset.protocolOwed).toBe(split.protocol)
    expect(asset.protocolFunded).toBe(split.protocol)
    expect(asset.token).toBe(tokenAddress)
    // The stake is pending at this first settle: the supporters' share is held for it.
    expect(asset.heldForSupporters).toBe(split.supporters)
    expect(asset.ledger).toBe(revenue + 1_000_000n)
    expect(await settlement.ledgerOf(assetId)).toBe(revenue + 1_000_000n)
    // The epoch's rebates: the root's first 20 bytes, funded with the users' share (all of
    // it unclaimed).
    expect([...(await settlement.epochRebates(assetId, 1))]).toEqual([
      storedRebateRoot(rebateRoot),
      split.users,
    ])
  })

  test('splits odd revenues to the wei exactly as splitRevenue, over many epochs', async () => {
    const { settlement, assetId, settler, token } = ctx.fx
    await stakeSome()
    await mined(token.mint(settler.address, 2n ** 101n))
    const revenues = [1n, 2n, 3n, 7n, 9_999n, 10_001n, 123_456_789n, 2n ** 96n + 7n, 0n, 5n]
    const total = { issuer: 0n, supporters: 0n, users: 0n, protocol: 0n }
    for (const [i, revenue] of revenues.entries()) {
      const receipt = await mined(
        settlement.connect(settler).settle(...settleArgs(assetId, i + 1, revenue)),
      )
      const split = splitRevenue(revenue, shares)
      const event = argsOf(eventsOf(settlement, receipt, 'Settled')[0])
      expect([
        event.issuerAmount,
        event.supportersAmount,
        event.usersAmount,
        event.protocolAmount,
      ]).toEqual([split.issuer, split.supporters, split.users, split.protocol])
      for (const role of ['issuer', 'supporters', 'users', 'protocol'] as const)
        total[role] += split[role]
    }
    const asset = await settlement.getAsset(assetId)
    expect(asset.epoch).toBe(BigInt(revenues.length))
    expect(asset.issuerFunded).toBe(total.issuer)
    expect(asset.supportersFunded).toBe(total.supporters)
    expect(asset.rebatesFunded).toBe(total.users)
    expect(asset.protocolOwed).toBe(total.protocol)
    expect(total.issuer + total.supporters + total.users + total.protocol).toBe(
      revenues.reduce((a, b) => a + b, 0n),
    )
  })

  test('reverts NotSettler for anyone but the settler, and for an unknown asset', async () => {
    const { settlement, assetId, issuer, owner, meter, others, settler } = ctx.fx
    await stakeSome()
    for (const sender of [issuer, owner, meter, others[1]!])
      await expectRevert(
        settlement.connect(sender).settle(...settleArgs(assetId, 1, 100n)),
        'NotSettler',
      )
    await expectRevert(
      settlement.connect(settler).settle(...settleArgs(keccak256('0x01'), 1, 100n)),
      'NotSettler',
    )
  })

  test('reverts BadEpoch(expected) for a replayed, skipped or zero epoch', async () => {
    const { settlement, assetId, settler } = ctx.fx
    await stakeSome()
    const s = settlement.connect(settler)
    await expectRevert(s.settle(...settleArgs(assetId, 0, 100n)), 'BadEpoch', [1n])
    await expectRevert(s.settle(...settleArgs(assetId, 2, 100n)), 'BadEpoch', [1n])
    await mined(s.settle(...settleArgs(assetId, 1, 100n)))
    await expectRevert(s.settle(...settleArgs(assetId, 1, 100n)), 'BadEpoch', [2n])
    await expectRevert(s.settle(...settleArgs(assetId, 3, 100n)), 'BadEpoch', [2n])
    await mined(s.settle(...settleArgs(assetId, 2, 100n)))
    expect((await settlement.getAsset(assetId)).epoch).toBe(2n)
  })

  test('an asset without a supporters share settles with no stake', async () => {
    const { settlement, tokenAddress, others } = ctx.fx
    const [issuer, settler] = [others[1]!, others[2]!]
    const { assetId } = await registerAsset(settlement.connect(issuer), {
      salt: keccak256(toUtf8Bytes('no-supporters')),
      token: tokenAddress,
      settler: settler.address,
      issuerBps: 9000,
      supportersBps: 0,
      usersBps: 1000,
      unbondingDelay: 86_400,
    })
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 1, 999n)))
    const asset = await settlement.getAsset(assetId)
    expect(asset.issuerOwed).toBe(900n)
    expect(asset.rebatesFunded).toBe(99n)
  })

  test('a new settler takes over; the old one is refused', async () => {
    const { settlement, assetId, settler, issuer, others } = ctx.fx
    await stakeSome()
    await mined(settlement.connect(issuer).setSettler(assetId, others[3]!.address))
    await expectRevert(
      settlement.connect(settler).settle(...settleArgs(assetId, 1, 100n)),
      'NotSettler',
    )
    await mined(settlement.connect(others[3]!).settle(...settleArgs(assetId, 1, 100n)))
  })

  test('fails without moving anything when the settler lacks allowance', async () => {
    const { settlement, settlementAddress, assetId, settler, token } = ctx.fx
    await stakeSome()
    await mined(token.connect(settler).approve(settlementAddress, 10n))
    await expect(
      settlement.connect(settler).settle(...settleArgs(assetId, 1, 100n)),
    ).rejects.toThrow()
    expect((await settlement.getAsset(assetId)).epoch).toBe(0n)
  })

  test('stores the rebate root but only emits the receipts root, batch URI and hash', async () => {
    const { settlement, settlementAddress, assetId, settler } = ctx.fx
    await stakeSome()
    const before = await storageWords(ctx.anvil.provider, settlementAddress)
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 1, 1_000n)))
    const after = await storageWords(ctx.anvil.provider, settlementAddress)
    // receiptsRoot (0x11…) and batchHash (0x22…) appear in no written slot.
    expect(after.some((w) => w.includes('1111111111'))).toBe(false)
    expect(after.some((w) => w.includes('2222222222'))).toBe(false)
    expect(before).not.toEqual(after)
  })
})

/** Every storage word of the asset's struct (slots 0-10 of `_assets[assetId]`). */
async function storageWords(provider: JsonRpcProvider, address: string): Promise<string[]> {
  const slot = AbiCoder.defaultAbiCoder().encode(['bytes32', 'uint256'], [ctx.fx.assetId, 1])
  const base = BigInt(keccak256(slot))
  const words: string[] = []
  for (let i = 0n; i < 11n; i++) words.push(await provider.getStorage(address, base + i))
  return words
}
