import { randomUUID } from 'node:crypto'
import type { RmaSettlementContract } from '@rma/contracts'
import {
  type Anvil,
  deploySettlementFixture,
  type SettlementFixture,
  startAnvil,
} from '@rma/contracts/testing'
import {
  type Address,
  createDomain,
  expectedCumulativeAmount,
  type Hex,
  hashReceipt,
  type ReceiptStore,
  type RmaDomain,
  type StoredReceipt,
  signAck,
  signReceipt,
  zeroHash,
} from '@rma/core'
import { createMemoryStore } from '@rma/store'
import type { Wallet } from 'ethers'
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest'
import type { SkippedVoucher } from './createPrepaidRound.js'
import { createSettler } from './createSettler.js'

// Odd shares, so that every split and rebate rounds.
const shares = { issuerBps: 5999, supportersBps: 2501, usersBps: 1333, protocolBps: 167 }
const rebateOf = (debit: bigint) => (debit * 1333n) / 10_000n

let anvil: Anvil
let fx: SettlementFixture
let domain: RmaDomain
let snapshot: string
let store: ReceiptStore

beforeAll(async () => {
  anvil = await startAnvil()
  fx = await deploySettlementFixture(anvil, { shares })
  domain = createDomain({ chainId: 31337, verifyingContract: fx.settlementAddress as Address })
  snapshot = await anvil.snapshot()
}, 60_000)
beforeEach(async () => {
  await anvil.revert(snapshot)
  snapshot = await anvil.snapshot()
  store = createMemoryStore()
})
afterAll(() => anvil?.stop())

const amounts = [2_750n, 1_001n, 333n, 7_000n, 12n]

/** The meter serves `count` calls to `user` and stores each receipt as the meter does. */
async function meter(
  user: Wallet,
  count: number,
  s: ReceiptStore = store,
): Promise<StoredReceipt[]> {
  const stored: StoredReceipt[] = []
  for (let i = 0; i < count; i++) {
    stored.push(
      await s.append({
        assetId: fx.assetId as Hex,
        meter: fx.meter.address as Address,
        user: user.address as Address,
        id: randomUUID(),
        async sign(head) {
          const amount = amounts[head.seq % amounts.length]!
          const receipt = await signReceipt({
            signer: fx.meter,
            domain,
            receipt: {
              assetId: fx.assetId as Hex,
              meter: fx.meter.address as Address,
              user: user.address as Address,
              seq: head.seq + 1,
              prev: head.hash,
              requestHash: `0x${'11'.repeat(32)}`,
              responseHash: `0x${'22'.repeat(32)}`,
              model: 'gpt-4o-mini',
              inputTokens: 1_000,
              cachedInputTokens: 0,
              outputTokens: 200,
              reasoningTokens: 0,
              usageSource: 'reported',
              amount,
              cumulativeAmount: expectedCumulativeAmount(head.cumulativeAmount, amount),
              cacheWriteTokens: 0,
              priceTable: zeroHash,
              attestation: zeroHash,
              timestamp: 1_700_000_000,
            },
          })
          return { receipt, hash: hashReceipt(receipt, domain) }
        },
      }),
    )
  }
  return stored
}

/** The user acks `stored` (its voucher for the chain's total so far) and the meter keeps it. */
async function ack(user: Wallet, stored: StoredReceipt, s: ReceiptStore = store) {
  const { receipt } = stored
  const signed = await signAck({
    signer: user,
    domain,
    ack: {
      assetId: receipt.assetId,
      user: receipt.user,
      meter: receipt.meter,
      seq: receipt.seq,
      receiptHash: stored.hash,
      cumulativeAmount: receipt.cumulativeAmount,
    },
  })
  await s.addAck(signed)
  return signed
}

function settlerOf(s: ReceiptStore = store, maxReceipts?: number) {
  const settler = createSettler({
    mode: 'prepaid',
    store: s,
    ...(maxReceipts ? { maxReceipts } : {}),
    signer: fx.settler,
    contract: fx.settlementAddress as Address,
    assetId: fx.assetId as Hex,
    retry: { attempts: 1 },
  })
  const skipped: SkippedVoucher[] = []
  settler.events.on('voucher:skipped', (e) => skipped.push(e))
  return { settler, skipped }
}

const balanceOf = async (settlement: RmaSettlementContract, user: Wallet) =>
  (await settlement.prepaidBalance(fx.tokenAddress, user.address)).balance

test('debits each user exactly the receipts it acked, credits its rebate; the unacked tail waits; the provider pays nothing', async () => {
  const { settlement, token, settler: settlerWallet, others } = fx
  const [alice, bob] = [others[0]!, others[1]!]
  await (
    await settlement.connect(alice).depositFor(fx.tokenAddress, alice.address, 100_000n)
  ).wait()
  await (await settlement.connect(bob).depositFor(fx.tokenAddress, bob.address, 100_000n)).wait()
  const settlerTokens = await token.balanceOf(settlerWallet.address)
  const a = await meter(alice, 5)
  const b = await meter(bob, 3)
  await ack(alice, a[3]!) // alice acks receipts 1..4, not 5 yet
  await ack(bob, b[2]!)
  const { settler } = settlerOf()

  const first = await settler.settleOnce()
  const aliceDebit = a[3]!.receipt.cumulativeAmount
  const bobDebit = b[2]!.receipt.cumulativeAmount
  expect(aliceDebit).toBe(amounts.slice(0, 4).reduce((x, y) => x + y, 0n))
  expect(first).toMatchObject({
    status: 'settled',
    mode: 'prepaid',
    epoch: 1,
    revenue: aliceDebit + bobDebit,
    receiptCount: 7,
    vouchers: 2,
    settledVouchers: 2,
    skipped: [],
  })
  expect(await balanceOf(settlement, alice)).toBe(100_000n - aliceDebit + rebateOf(aliceDebit))
  expect(await balanceOf(settlement, bob)).toBe(100_000n - bobDebit + rebateOf(bobDebit))
  // The covered receipts are assigned to the epoch; alice's fifth waits for her ack.
  const unsettled = await store.listUnsettled({ assetId: fx.assetId as Hex })
  expect(unsettled.map((r) => [r.receipt.user.toLowerCase(), r.receipt.seq])).toEqual([
    [alice.address.toLowerCase(), 5],
  ])
  expect((await store.listBatchReceipts({ assetId: fx.assetId as Hex, epoch: 1 })).length).toBe(7)
  expect(await settler.settleOnce()).toMatchObject({ status: 'idle', unsettled: 1 })

  await ack(alice, a[4]!)
  const second = await settler.settleOnce()
  expect(second).toMatchObject({
    status: 'settled',
    epoch: 2,
    revenue: a[4]!.receipt.amount,
    receiptCount: 1,
  })
  // Every debit on chain is the sum of what the user acked, exactly.
  const [, aliceTotal] = await settlement.settledVoucher(
    fx.assetId,
    fx.meter.address,
    alice.address,
  )
  expect(aliceTotal).toBe(a[4]!.receipt.cumulativeAmount)
  expect(await token.balanceOf(settlerWallet.address)).toBe(settlerTokens)
})

test('a voucher above the balance is held back, reported once, and settles after a top-up', async () => {
  const { settlement, others } = fx
  const alice = others[0]!
  await (await settlement.connect(alice).depositFor(fx.tokenAddress, alice.address, 3_000n)).wait()
  const a = await meter(alice, 2) // 2,750 + 1,001: more than she holds
  const total = a[1]!.receipt.cumulativeAmount
  await ack(alice, a[1]!)
  const { settler, skipped } = settlerOf()
  expect(await settler.settleOnce()).toMatchObject({ status: 'idle' })
  expect(await settler.settleOnce()).toMatchObject({ status: 'idle' })
  expect(skipped).toEqual([
    {
      meter: fx.meter.address,
      user: alice.address,
      seq: 2,
      reason: 'InsufficientBalance',
      onChain: false,
      retried: true,
    },
  ])
  await (
    await settlement.connect(others[3]!).depositFor(fx.tokenAddress, alice.address, total - 3_000n)
  ).wait()
  expect(await settler.settleOnce()).toMatchObject({ status: 'settled', revenue: total })
})

test('an ack whose signature is not the user’s is reported once and never submitted', async () => {
  const { settlement, others } = fx
  const [alice, mallory] = [others[0]!, others[1]!]
  await (
    await settlement.connect(alice).depositFor(fx.tokenAddress, alice.address, 100_000n)
  ).wait()
  const a = await meter(alice, 3)
  // A forged ack (Mallory signs Alice's voucher) reaches the store, which does not verify
  // signatures; the settler does, and never sends it.
  const forged = await signAck({
    signer: mallory,
    domain,
    ack: {
      assetId: fx.assetId as Hex,
      user: mallory.address as Address,
      meter: fx.meter.address as Address,
      seq: 3,
      receiptHash: a[2]!.hash,
      cumulativeAmount: a[2]!.receipt.cumulativeAmount,
    },
  })
  await store.addAck({ ...forged, user: alice.address as Address })
  const { settler, skipped } = settlerOf()
  expect(await settler.settleOnce()).toMatchObject({ status: 'idle' })
  expect(await settler.settleOnce()).toMatchObject({ status: 'idle' })
  expect(skipped.map((s) => [s.seq, s.reason, s.onChain, s.retried])).toEqual([
    [3, 'BadSignature', false, false],
  ])
  expect(await balanceOf(settlement, alice)).toBe(100_000n)
  // Her own ack of a later receipt settles everything up to it.
  const more = await meter(alice, 1)
  await ack(alice, more[0]!)
  expect(await settler.settleOnce()).toMatchObject({
    status: 'settled',
    revenue: more[0]!.receipt.cumulativeAmount,
    receiptCount: 4,
  })
})

test('a settler that crashed before assigning receipts reads the chain and never debits twice', async () => {
  const { settlement, others } = fx
  const alice = others[0]!
  await (
    await settlement.connect(alice).depositFor(fx.tokenAddress, alice.address, 100_000n)
  ).wait()
  const a = await meter(alice, 3)
  await ack(alice, a[2]!)
  // The first settler's store fails to assign the receipts after the transaction is mined.
  let failing = true
  const flaky: ReceiptStore = {
    ...store,
    async markSettled(parameters) {
      if (failing) throw new Error('store went away')
      return store.markSettled(parameters)
    },
  }
  const crashed = settlerOf(flaky)
  const errors: Error[] = []
  crashed.settler.events.on('error', (e) => errors.push(e))
  expect(await crashed.settler.settleOnce()).toMatchObject({
    status: 'settled',
    settledVouchers: 1,
  })
  expect(errors).toHaveLength(1)
  const after = await balanceOf(settlement, alice)
  failing = false
  // A fresh settler finds the ack already settled on chain: it assigns the receipts and sends nothing.
  const { settler } = settlerOf()
  expect(await settler.settleOnce()).toMatchObject({ status: 'idle' })
  expect(await store.listUnsettled({ assetId: fx.assetId as Hex })).toEqual([])
  expect(await balanceOf(settlement, alice)).toBe(after)
})

test('two settlers submitting the same voucher in one block: it debits once; the second is reported skipped on chain', async () => {
  const { settlement, others } = fx
  const alice = others[0]!
  await (
    await settlement.connect(alice).depositFor(fx.tokenAddress, alice.address, 100_000n)
  ).wait()
  const a = await meter(alice, 4)
  await ack(alice, a[3]!)
  const first = settlerOf()
  const second = settlerOf()
  const pending = () =>
    anvil.provider.send('eth_getTransactionCount', [fx.settler.address, 'pending'])
  const mined = Number(await pending())
  const until = async (count: number) => {
    while (Number(await pending()) < count) await new Promise((r) => setTimeout(r, 10))
  }
  // Both read the chain before either transaction is mined, then both land in one block.
  await anvil.provider.send('evm_setAutomine', [false])
  try {
    const one = first.settler.settleOnce()
    await until(mined + 1)
    const two = second.settler.settleOnce()
    await until(mined + 2)
    await anvil.provider.send('evm_mine', [])
    const [r1, r2] = await Promise.all([one, two])
    expect(r1).toMatchObject({ status: 'settled', settledVouchers: 1, receiptCount: 4 })
    expect(r2).toMatchObject({
      status: 'settled',
      settledVouchers: 0,
      revenue: 0n,
      receiptCount: 0,
    })
    expect(second.skipped.map((s) => [s.user, s.seq, s.reason, s.onChain])).toEqual([
      [alice.address, 4, 'NotNewer', true],
    ])
  } finally {
    await anvil.provider.send('evm_setAutomine', [true])
  }
  const debit = a[3]!.receipt.cumulativeAmount
  expect(await balanceOf(settlement, alice)).toBe(100_000n - debit + rebateOf(debit))
  // The next round of either sends nothing.
  expect(await second.settler.settleOnce()).toMatchObject({ status: 'idle', unsettled: 0 })
})

test('an ack whose total is not the acked receipt’s is never submitted, even with the user’s signature', async () => {
  const { settlement, others } = fx
  const alice = others[0]!
  await (
    await settlement.connect(alice).depositFor(fx.tokenAddress, alice.address, 100_000n)
  ).wait()
  const a = await meter(alice, 2)
  // Alice's client signed a total above her receipts (a bug, or a meter that fooled it). The
  // store refuses such an ack, so it arrives here through a store that does not check.
  const inflated = await signAck({
    signer: alice,
    domain,
    ack: {
      assetId: fx.assetId as Hex,
      user: alice.address as Address,
      meter: fx.meter.address as Address,
      seq: 2,
      receiptHash: a[1]!.hash,
      cumulativeAmount: a[1]!.receipt.cumulativeAmount + 50_000n,
    },
  })
  const lax: ReceiptStore = { ...store, latestAck: async () => inflated }
  const { settler, skipped } = settlerOf(lax)
  expect(await settler.settleOnce()).toMatchObject({ status: 'idle' })
  expect(skipped.map((s) => [s.seq, s.reason, s.onChain, s.retried])).toEqual([
    [2, 'ReceiptMismatch', false, false],
  ])
  expect(await balanceOf(settlement, alice)).toBe(100_000n)
  const [seq] = await settlement.settledVoucher(fx.assetId, fx.meter.address, alice.address)
  expect(seq).toBe(0n)
})

test('receipts that cannot settle (an unacked tail) do not starve other chains of the read', async () => {
  const { settlement, others } = fx
  // The store lists by (meter, user, seq): the user who never acks sorts first.
  const [silent, payer] = [others[0]!, others[1]!].sort((x, y) =>
    x.address.toLowerCase() < y.address.toLowerCase() ? -1 : 1,
  ) as [Wallet, Wallet]
  for (const u of [silent, payer])
    await (await settlement.connect(u).depositFor(fx.tokenAddress, u.address, 100_000n)).wait()
  await meter(silent, 4)
  const p = await meter(payer, 2)
  await ack(payer, p[1]!)
  const { settler } = settlerOf(store, 3)
  // The first read holds only the silent user's receipts; the next reads past them.
  expect(await settler.settleOnce()).toMatchObject({ status: 'idle', unsettled: 3 })
  expect(await settler.settleOnce()).toMatchObject({
    status: 'settled',
    revenue: p[1]!.receipt.cumulativeAmount,
    receiptCount: 2,
  })
})
