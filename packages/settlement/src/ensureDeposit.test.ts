import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
  signReceipt,
  zeroHash,
} from '@rma/core'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { createSettler } from './createSettler.js'
import { ensureDeposit } from './ensureDeposit.js'
import { SettlementError } from './errors.js'

let anvil: Anvil
let fx: SettlementFixture
let snapshot: string
let dir: string

beforeAll(async () => {
  anvil = await startAnvil()
  fx = await deploySettlementFixture(anvil, { tokenKind: 'feeOnTransfer' })
  await (await fx.settlement.connect(fx.others[0]!).stake(fx.assetId, 10n ** 9n)).wait()
  dir = await mkdtemp(join(tmpdir(), 'rma-deposit-'))
  snapshot = await anvil.snapshot()
}, 60_000)
beforeEach(async () => {
  await anvil.revert(snapshot)
  snapshot = await anvil.snapshot()
})
afterAll(async () => {
  await anvil?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const top = (needed: bigint, batches = 24) =>
  ensureDeposit({
    contract: fx.settlement.connect(fx.settler),
    signer: fx.settler,
    spender: fx.settlementAddress as Address,
    assetId: fx.assetId as Hex,
    token: fx.tokenAddress as Address,
    needed,
    batches,
  })
const depositOf = (who: { address: string }) => fx.settlement.depositOf(fx.assetId, who.address)
const walletOf = (who: { address: string }) => fx.token.balanceOf(who.address)

// The fixture's token keeps 1% of every transfer: a top-up is credited as it arrives.
describe('ensureDeposit (fee-on-transfer token)', () => {
  test('tops up to cover the batches, credits what arrived, and sends nothing while it covers', async () => {
    const first = await top(1_000n)
    expect(first.depositGasUsed).toBeGreaterThan(0n)
    // 24,000 sent, 1% kept by the token on the way.
    expect(first.deposit).toBe(23_760n)
    expect(await depositOf(fx.settler)).toBe(23_760n)
    const nonce = await anvil.provider.getTransactionCount(fx.settler.address)
    expect(await top(23_760n)).toEqual({ approveGasUsed: 0n, depositGasUsed: 0n, deposit: 23_760n })
    expect(await anvil.provider.getTransactionCount(fx.settler.address)).toBe(nonce)
  })

  test('with a wallet short of the whole top-up, deposits what it holds when that pays the batch', async () => {
    const rest = (await walletOf(fx.settler)) - 5_000n
    await (await fx.token.connect(fx.settler).transfer(fx.others[5]!.address, rest)).wait()
    const result = await top(4_000n)
    expect(result.depositGasUsed).toBeGreaterThan(0n)
    expect(await walletOf(fx.settler)).toBe(0n)
    expect(result.deposit).toBe(4_950n)
  })

  test('with a wallet that cannot pay the batch at all, sends nothing', async () => {
    const rest = (await walletOf(fx.settler)) - 500n
    await (await fx.token.connect(fx.settler).transfer(fx.others[5]!.address, rest)).wait()
    const nonce = await anvil.provider.getTransactionCount(fx.settler.address)
    expect(await top(1_000n)).toEqual({ approveGasUsed: 0n, depositGasUsed: 0n, deposit: 0n })
    expect(await anvil.provider.getTransactionCount(fx.settler.address)).toBe(nonce)
    expect(await walletOf(fx.settler)).toBe(500n)
  })

  test("another account's deposit on the asset is not the settler's to count or spend", async () => {
    const outsider = fx.others[3]!
    await (await fx.settlement.connect(outsider).deposit(fx.assetId, 1_000_000n)).wait()
    const result = await top(1_000n)
    expect(result.depositGasUsed).toBeGreaterThan(0n)
    expect(result.deposit).toBe(23_760n)
    expect(await depositOf(outsider)).toBe(990_000n)
  })
})

describe('createSettler paying from its deposit', () => {
  async function meter(store: ReturnType<typeof createMemoryStore>, count: number, amount: bigint) {
    const domain = createDomain({
      chainId: 31337,
      verifyingContract: fx.settlementAddress as Address,
    })
    const user = Wallet.createRandom().address as Address
    const signer = fx.meter as unknown as Wallet
    for (let i = 0; i < count; i++)
      await store.append({
        assetId: fx.assetId as Hex,
        meter: signer.address as Address,
        user,
        id: randomUUID(),
        async sign(head) {
          const receipt = await signReceipt({
            signer,
            domain,
            receipt: {
              assetId: fx.assetId as Hex,
              meter: signer.address as Address,
              user,
              seq: head.seq + 1,
              prev: head.hash,
              requestHash: `0x${'11'.repeat(32)}`,
              responseHash: `0x${'22'.repeat(32)}`,
              model: 'gpt-4o-mini',
              inputTokens: 10,
              cachedInputTokens: 0,
              outputTokens: 20,
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
      })
  }
  const settlerOf = (store: ReturnType<typeof createMemoryStore>, depositBatches?: number) =>
    createSettler({
      store,
      signer: fx.settler,
      contract: fx.settlementAddress as Address,
      assetId: fx.assetId as Hex,
      batchDir: dir,
      batchBaseUri: 'https://batches.example/rma',
      refusalBackoff: { baseMs: 1, maxMs: 1 },
      ...(depositBatches === undefined ? {} : { depositBatches }),
    })

  test('one top-up pays the following batches at face value, no token moved per batch', async () => {
    const store = createMemoryStore()
    const settler = settlerOf(store, 3)
    const results = []
    for (let i = 0; i < 4; i++) {
      await meter(store, 2, 500n)
      results.push(await settler.settleOnce())
    }
    // Topped up before batches 1 (3 × 1,000 sent, 2,970 credited) and 3 (2,970 - 2,000 left).
    expect(results.map((r) => (r.status === 'settled' ? r.depositGasUsed > 0n : null))).toEqual([
      true,
      false,
      true,
      false,
    ])
    const settled = await fx.settlement.queryFilter(fx.settlement.filters.Settled!(fx.assetId))
    // Every batch credited whole: paid from the deposit, not pulled through the 1% fee.
    expect(
      settled.map((l) => (l as unknown as { args: { revenue: bigint } }).args.revenue),
    ).toEqual([1_000n, 1_000n, 1_000n, 1_000n])
    await store.close()
  })

  test('a batch neither the deposit nor the wallet can pay is refused with the reason; nothing moves', async () => {
    const store = createMemoryStore()
    const settler = settlerOf(store)
    await meter(store, 1, 700n)
    await settler.settleOnce()
    const deposit = await depositOf(fx.settler)
    // The wallet is emptied; the next batch is larger than what the deposit holds.
    const wallet = await walletOf(fx.settler)
    await (await fx.token.connect(fx.settler).transfer(fx.others[5]!.address, wallet)).wait()
    await meter(store, 1, deposit + 1n)
    const nonce = await anvil.provider.getTransactionCount(fx.settler.address)
    const refused = await settler.settleOnce().catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(SettlementError)
    expect(refused).toMatchObject({
      code: 'SETTLE_REFUSED',
      revert: { name: 'ERC20InsufficientBalance' },
    })
    expect(await anvil.provider.getTransactionCount(fx.settler.address)).toBe(nonce)
    expect(await depositOf(fx.settler)).toBe(deposit)
    expect((await fx.settlement.getAsset(fx.assetId)).epoch).toBe(1n)
    await store.close()
  })

  test('a depositBatches that is not a whole number of batches is refused', () => {
    const store = createMemoryStore()
    for (const bad of [-1, 1.5, Number.NaN])
      expect(() => settlerOf(store, bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      )
  })
})
