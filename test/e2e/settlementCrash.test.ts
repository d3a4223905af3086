import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Anvil,
  deploySettlementFixture,
  type SettlementFixture,
  startAnvil,
} from '@rma/contracts/testing'
import type { Address, Hex } from '@rma/core'
import {
  attest,
  createFakeUpstream,
  createMeteredApp,
  type FakeUpstream,
  type MeteredApp,
} from '@rma/express/testing'
import { createSqliteStore } from '@rma/store'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { runFixture } from '../fixtures/runProcess.js'

let anvil: Anvil
let fx: SettlementFixture
let upstream: FakeUpstream
let app: MeteredApp
let dir: string
let env: Record<string, string>
const user = Wallet.createRandom() as unknown as Wallet
let calls = 0

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rma-settle-crash-'))
  anvil = await startAnvil()
  fx = await deploySettlementFixture(anvil)
  await (await fx.settlement.connect(fx.others[0]!).stake(fx.assetId, 5_000_000n)).wait()
  upstream = await createFakeUpstream()
  app = await createMeteredApp({
    store: createSqliteStore({ path: join(dir, 'receipts.db') }),
    upstream,
    meterKey: fx.meter.privateKey,
    meter: {
      assetId: fx.assetId as Hex,
      chainId: 31337,
      settlementContract: fx.settlementAddress as Address,
    },
  })
  env = {
    RPC_URL: anvil.url,
    SETTLER_KEY: fx.settler.privateKey,
    CONTRACT: fx.settlementAddress,
    ASSET_ID: fx.assetId,
    SQLITE_PATH: join(dir, 'receipts.db'),
    BATCH_DIR: join(dir, 'batches'),
  }
}, 120_000)

afterAll(async () => {
  await app?.close()
  await upstream?.close()
  await anvil?.stop()
  await rm(dir, { recursive: true, force: true })
})

async function meterCalls(n: number) {
  for (let i = 0; i < n; i++) {
    const body = JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `c${calls++}` }],
    })
    const header = await attest(user, body, {
      assetId: fx.assetId as Hex,
      chainId: 31337,
      settlementContract: fx.settlementAddress as Address,
    })
    const res = await fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'rma-attestation': header },
      body,
    })
    expect(res.status).toBe(200)
    await res.arrayBuffer()
  }
}

async function settledEpochs(): Promise<{ epoch: number; receiptCount: number }[]> {
  const logs = await fx.settlement.queryFilter(fx.settlement.filters.Settled!(fx.assetId))
  return logs.map((l) => {
    const args = (l as unknown as { args: { epoch: bigint; receiptCount: bigint } }).args
    return { epoch: Number(args.epoch), receiptCount: Number(args.receiptCount) }
  })
}

const rpc = (method: string, params: unknown[] = []) => anvil.provider.send(method, params)

test('killed after building: the rerun sends the recorded batch once', async () => {
  await meterCalls(5)
  const killed = await runFixture('settleProcess.ts', { ...env, KILL_AT: 'built' })
  expect(killed.signal).toBe('SIGKILL')
  expect(await settledEpochs()).toEqual([])
  const rerun = await runFixture('settleProcess.ts', env)
  expect(JSON.parse(rerun.stdout)).toMatchObject({
    status: 'settled',
    epoch: 1,
    receiptCount: 5,
    recovered: true,
  })
  expect(await settledEpochs()).toEqual([{ epoch: 1, receiptCount: 5 }])
})

test('killed after sending (mined): the rerun confirms without sending again', async () => {
  await meterCalls(3)
  const killed = await runFixture('settleProcess.ts', { ...env, KILL_AT: 'submitted' })
  expect(killed.signal).toBe('SIGKILL')
  const rerun = await runFixture('settleProcess.ts', env)
  expect(JSON.parse(rerun.stdout)).toMatchObject({
    status: 'settled',
    epoch: 2,
    receiptCount: 3,
    recovered: true,
  })
  expect((await settledEpochs()).map((e) => e.epoch)).toEqual([1, 2])
})

test('killed before confirming (still pending): the rerun waits for the same transaction', async () => {
  await meterCalls(4)
  await rpc('evm_setAutomine', [false])
  const killed = await runFixture('settleProcess.ts', { ...env, KILL_AT: 'submitted' })
  expect(killed.signal).toBe('SIGKILL')
  expect((await settledEpochs()).map((e) => e.epoch)).toEqual([1, 2])
  await rpc('evm_setAutomine', [true])
  await rpc('evm_mine')
  const rerun = await runFixture('settleProcess.ts', env)
  expect(JSON.parse(rerun.stdout)).toMatchObject({
    status: 'settled',
    epoch: 3,
    receiptCount: 4,
    recovered: true,
  })
  expect((await settledEpochs()).map((e) => e.epoch)).toEqual([1, 2, 3])
})

test('killed before confirming and the transaction dropped: the rerun sends the batch again', async () => {
  await meterCalls(2)
  await rpc('evm_setAutomine', [false])
  const killed = await runFixture('settleProcess.ts', { ...env, KILL_AT: 'submitted' })
  expect(killed.signal).toBe('SIGKILL')
  await rpc('anvil_dropAllTransactions')
  await rpc('evm_setAutomine', [true])
  const rerun = await runFixture('settleProcess.ts', env)
  expect(JSON.parse(rerun.stdout)).toMatchObject({
    status: 'settled',
    epoch: 4,
    receiptCount: 2,
    recovered: true,
  })
  const epochs = await settledEpochs()
  expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4])

  // No receipt settled twice or skipped: the batches add up to every receipt, each in one epoch.
  expect(epochs.reduce((sum, e) => sum + e.receiptCount, 0)).toBe(calls)
  const store = createSqliteStore({ path: env.SQLITE_PATH! })
  try {
    const all = await store.listByUser({ user: user.address as Address, limit: 10_000 })
    expect(all).toHaveLength(calls)
    const perEpoch = new Map<number, number>()
    for (const r of all) perEpoch.set(r.epoch!, (perEpoch.get(r.epoch!) ?? 0) + 1)
    expect([...perEpoch.entries()].sort()).toEqual(epochs.map((e) => [e.epoch, e.receiptCount]))
    expect(await store.listUnsettled({ assetId: fx.assetId as Hex })).toEqual([])
  } finally {
    await store.close()
  }
})
