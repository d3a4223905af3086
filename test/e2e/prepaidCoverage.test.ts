import { randomBytes } from 'node:crypto'
import { toVoucher } from '@rma/contracts'
import {
  type Anvil,
  deploySettlementFixture,
  type SettlementFixture,
  startAnvil,
} from '@rma/contracts/testing'
import {
  type Address,
  createDomain,
  decodeReceipt,
  encodeAck,
  type Hex,
  type RmaDomain,
  type SignedUsageReceipt,
  signAck,
} from '@rma/core'
import {
  attestWith,
  createFakeUpstream,
  createMeteredApp,
  type FakeUpstream,
  type MeteredApp,
} from '@rma/express/testing'
import { createPostgresStore } from '@rma/store'
import { createTcpProxy } from '@rma/store/testing'
import type { Wallet } from 'ethers'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

// Meter coverage of prepaid users against the real settlement contract on anvil: two meter
// instances (one key) share one PostgreSQL store, balances are deposited and settled on chain.

const connectionString =
  process.env.RMA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const schema = `rma_prepaid_${randomBytes(4).toString('hex')}`
const shares = { issuerBps: 6000, supportersBps: 2500, usersBps: 1500, protocolBps: 0 }
/** The spend cap each call signs: what a call reserves while in flight. */
const maxAmount = 200n
const body = JSON.stringify({
  model: 'gpt-4o-mini',
  max_tokens: 50,
  messages: [{ role: 'user', content: 'Hi' }],
})

let anvil: Anvil
let fx: SettlementFixture
let upstream: FakeUpstream
let domain: RmaDomain
let meters: MeteredApp[]
let stores: ReturnType<typeof createPostgresStore>[]
let next = 4

beforeAll(async () => {
  anvil = await startAnvil({ accounts: 30 })
  fx = await deploySettlementFixture(anvil, { shares })
  domain = createDomain({ chainId: 31337, verifyingContract: fx.settlementAddress as Address })
  upstream = await createFakeUpstream()
  stores = [0, 1].map(() => createPostgresStore({ connectionString, schema }))
  meters = await Promise.all(
    stores.map((store) =>
      createMeteredApp({
        store,
        upstream,
        meterKey: fx.meter.privateKey,
        meter: {
          assetId: fx.assetId as Hex,
          chainId: 31337,
          settlementContract: fx.settlementAddress as Address,
          rpcUrl: anvil.url,
          prepaid: { balanceCacheMs: 500, maxUnacked: 1_000 },
        },
      }),
    ),
  )
  await Promise.all(meters.map((m) => m.meter.ready))
}, 60_000)

afterAll(async () => {
  await Promise.all(meters?.map((m) => m.close()) ?? [])
  await Promise.all(stores?.map((s) => s.close()) ?? [])
  await upstream?.close()
  await anvil?.stop()
  const admin = new pg.Pool({ connectionString, max: 1 })
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await admin.end()
})

/** A fresh funded user (token minted and approved by the fixture). */
function newUser(): Wallet {
  const user = fx.others[next++ - 4]
  if (!user) throw new Error('out of anvil accounts')
  return user
}

async function deposit(user: Wallet, amount: bigint): Promise<void> {
  await (await fx.settlement.connect(user).depositFor(fx.tokenAddress, user.address, amount)).wait()
}

type CallResult =
  | { status: 200; receipt: SignedUsageReceipt }
  | { status: number; error: Record<string, string> }

async function call(
  user: Wallet,
  options: { meter?: MeteredApp; ack?: string; stream?: boolean } = {},
): Promise<CallResult> {
  const app = options.meter ?? meters[0]!
  const payload = options.stream
    ? JSON.stringify({ ...JSON.parse(body), stream: true, stream_options: { include_usage: true } })
    : body
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'rma-attestation': await attestWith(user, {
      body: payload,
      maxAmount,
      assetId: fx.assetId as Hex,
      settlementContract: fx.settlementAddress as Address,
    }),
  }
  if (options.ack) headers['rma-ack'] = options.ack
  if (options.stream) headers['rma-receipt'] = 'inline'
  const res = await fetch(`${app.url}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: payload,
  })
  if (res.status !== 200)
    return {
      status: res.status,
      error: ((await res.json()) as { error: Record<string, string> }).error,
    }
  if (!options.stream) {
    await res.arrayBuffer()
    return { status: 200, receipt: decodeReceipt(res.headers.get('rma-receipt')) }
  }
  const text = await res.text()
  const frame = /event: rma\.receipt\ndata: (.*)\n/.exec(text)
  if (!frame) return { status: 502, error: { code: 'no_receipt', message: text.slice(-200) } }
  return {
    status: 200,
    receipt: decodeReceipt((JSON.parse(frame[1]!) as { receipt: string }).receipt),
  }
}

async function ackOf(user: Wallet, receipt: SignedUsageReceipt) {
  const { hashReceipt } = await import('@rma/core')
  return signAck({
    signer: user,
    domain,
    ack: {
      assetId: receipt.assetId,
      user: receipt.user,
      meter: receipt.meter,
      seq: receipt.seq,
      receiptHash: hashReceipt(receipt, domain),
      cumulativeAmount: receipt.cumulativeAmount,
    },
  })
}

const onChain = async (user: Wallet) => {
  const [balance, withdrawalRequested] = await fx.settlement.prepaidBalance(
    fx.tokenAddress,
    user.address,
  )
  return { balance, withdrawalRequested }
}

describe('prepaid coverage at the meter (real contract, two meters on one PostgreSQL store)', () => {
  test('serves while balance − pending − reservations covers maxAmount, then 402 with the figures; a deposit serves again at once', async () => {
    const user = newUser()
    await deposit(user, 1_000n)
    const served: SignedUsageReceipt[] = []
    let refused: CallResult | undefined
    for (let i = 0; i < 20 && !refused; i++) {
      const result = await call(user, { meter: meters[i % 2] })
      if ('receipt' in result) served.push(result.receipt)
      else refused = result
    }
    const price = served[0]!.amount
    // 1,000 covers pending n × price plus one reservation of 200: n ≤ (1000 − 200) / price.
    expect(served).toHaveLength(Number((1_000n - maxAmount) / price) + 1)
    const charged = served.at(-1)!.cumulativeAmount
    expect(charged).toBe(price * BigInt(served.length))
    expect(charged).toBeLessThanOrEqual(1_000n)
    expect(refused).toMatchObject({ status: 402 })
    const error = (refused as { error: Record<string, string> }).error
    expect(error).toMatchObject({
      type: 'invalid_request_error',
      code: 'rma_insufficient_balance',
      balance: '1000',
      pending: charged.toString(),
      reserved: '0',
      needed: '200',
      token: fx.tokenAddress.toLowerCase(),
    })
    expect(error.message).toBe(
      `Prepaid balance too low: balance 1000, pending ${charged} (charged, not yet settled), reserved 0 (calls in flight); this call needs up to 200. Deposit at least ${charged + 200n - 1_000n} more of token ${fx.tokenAddress.toLowerCase()} (depositFor on the settlement contract), or sign a lower maxAmount.`,
    )
    // A deposit counts on the next call although balances are cached: a refusal reads the
    // chain again.
    await deposit(user, 500n)
    expect((await call(user, { meter: meters[1] })).status).toBe(200)
  })

  test('a withdrawal request stops covering calls once read (within balanceCacheMs); settled vouchers leave the room the same', async () => {
    const user = newUser()
    await deposit(user, 2_000n)
    const first = await call(user)
    expect(first.status).toBe(200)
    const receipt = (first as { receipt: SignedUsageReceipt }).receipt
    // Settled: the debit leaves the balance and the pending amount together (the user's
    // rebate comes back to its balance), so the room grows by exactly the rebate.
    const voucher = toVoucher(await ackOf(user, receipt))
    await (await fx.settlement.connect(fx.settler).settlePrepaid(fx.assetId, [voucher])).wait()
    const rebate = (receipt.amount * 1500n) / 10_000n
    expect((await onChain(user)).balance).toBe(2_000n - receipt.amount + rebate)
    // Withdrawing all but 100: nothing of 200 fits any more.
    await (
      await fx.settlement
        .connect(user)
        .requestWithdrawal(fx.tokenAddress, 2_000n - receipt.amount + rebate - 100n)
    ).wait()
    await new Promise((resolve) => setTimeout(resolve, 600)) // past the meters' balance cache
    const refused = await call(user, { meter: meters[1] })
    expect(refused).toMatchObject({
      status: 402,
      error: { code: 'rma_insufficient_balance', balance: '100', pending: '0' },
    })
    // Cancelled: served again (the refusal's read is cached: the next refusal reads again).
    await (await fx.settlement.connect(user).requestWithdrawal(fx.tokenAddress, 0n)).wait()
    expect((await call(user)).status).toBe(200)
  })

  test('maxUnacked: receipt N must be acked before call N + k is served (calls in flight count)', async () => {
    const store = stores[0]!
    const tight = await createMeteredApp({
      store,
      upstream,
      meterKey: fx.meter.privateKey,
      meter: {
        assetId: fx.assetId as Hex,
        chainId: 31337,
        settlementContract: fx.settlementAddress as Address,
        rpcUrl: anvil.url,
        prepaid: { maxUnacked: 3 },
      },
    })
    try {
      const user = newUser()
      await deposit(user, 100_000n)
      const receipts: SignedUsageReceipt[] = []
      for (let i = 0; i < 3; i++) {
        const r = await call(user, { meter: tight })
        expect(r.status).toBe(200)
        receipts.push((r as { receipt: SignedUsageReceipt }).receipt)
      }
      const refused = await call(user, { meter: tight })
      expect(refused).toMatchObject({
        status: 402,
        error: {
          code: 'rma_ack_required',
          message:
            '3 of your receipts of this chain are not countersigned (calls in flight included); a call is served only while fewer than 3 are. Ack your latest receipt (the rma-ack header of your next call, or POST /rma/acks) before more calls.',
        },
      })
      // An ack of receipt 1 lets call 4 in (receipt 1 acked before call 1 + 3), not call 5.
      const ack1 = encodeAck(await ackOf(user, receipts[0]!))
      expect((await call(user, { meter: tight, ack: ack1 })).status).toBe(200)
      expect((await call(user, { meter: tight })).status).toBe(402)
      // A forged ack (another key) is refused and does not count.
      const other = newUser()
      const theirs = await ackOf(other, { ...receipts[2]!, user: other.address as Address })
      const forged = encodeAck({ ...theirs, user: user.address as Address })
      expect((await call(user, { meter: tight, ack: forged })).status).toBe(401)
      // Acking the head opens the tail again.
      const head = await store.head({
        assetId: fx.assetId as Hex,
        meter: fx.meter.address as Address,
        user: user.address as Address,
      })
      const last = (await store.listByUser({ user: user.address as Address })).find(
        (r) => r.receipt.seq === head.seq,
      )!
      expect(
        (await call(user, { meter: tight, ack: encodeAck(await ackOf(user, last.receipt)) }))
          .status,
      ).toBe(200)
    } finally {
      await tight.close()
    }
  })

  test('fail closed: a store or chain that cannot be read refuses prepaid calls (503), nothing served, nothing reserved', async () => {
    const proxy = await createTcpProxy({ target: { host: '127.0.0.1', port: 5432 } })
    const rpc = await createTcpProxy({
      target: { host: '127.0.0.1', port: Number(new URL(anvil.url).port) },
    })
    const store = createPostgresStore({
      connectionString: `postgres://postgres@127.0.0.1:${proxy.port}/test`,
      schema,
      healthTimeoutMs: 500,
      queryTimeoutMs: 1_000,
    })
    const own = await createFakeUpstream()
    const app = await createMeteredApp({
      store,
      upstream: own,
      meterKey: fx.meter.privateKey,
      meter: {
        assetId: fx.assetId as Hex,
        chainId: 31337,
        settlementContract: fx.settlementAddress as Address,
        rpcUrl: `http://127.0.0.1:${rpc.port}`,
        prepaid: { balanceCacheMs: 0 },
      },
    })
    try {
      await app.meter.ready
      const user = newUser()
      await deposit(user, 10_000n)
      expect((await call(user, { meter: app })).status).toBe(200)
      // The chain unreachable: balances cannot be read, so nothing is served on credit.
      rpc.refuse()
      rpc.cut()
      const noChain = await call(user, { meter: app })
      expect(noChain).toMatchObject({ status: 503, error: { code: 'rma_chain_unavailable' } })
      rpc.accept()
      // The store unreachable: no reservation can be made.
      proxy.refuse()
      proxy.cut()
      const noStore = await call(user, { meter: app })
      expect(noStore.status).toBe(503)
      expect((noStore as { error: Record<string, string> }).error.code).toBe(
        'rma_store_unavailable',
      )
      proxy.accept()
      // Only the two served calls reached the upstream.
      expect(own.requests).toHaveLength(1)
      // Back: served again, and nothing was left reserved by the refused calls.
      expect((await call(user, { meter: app })).status).toBe(200)
      expect(own.requests).toHaveLength(2)
      const head = await stores[0]!.head({
        assetId: fx.assetId as Hex,
        meter: fx.meter.address as Address,
        user: user.address as Address,
      })
      expect(head.seq).toBe(2)
      const room = await stores[0]!.reserve({
        id: 'probe-fail-closed',
        chain: {
          assetId: fx.assetId as Hex,
          meter: fx.meter.address as Address,
          user: user.address as Address,
        },
        assets: [fx.assetId as Hex],
        amount: 1n,
        limit: 10_000n,
        settled: new Map(),
        expiresAt: Date.now() + 1_000,
      })
      expect(room).toMatchObject({ reserved: true, held: 0n, pending: head.cumulativeAmount })
      await stores[0]!.release('probe-fail-closed')
    } finally {
      await app.close()
      await own.close()
      await store.close()
      await proxy.close()
      await rpc.close()
    }
  })

  test('spend limit under load: 60 parallel streaming calls over both meters, balance for some: total ≤ deposit, every refusal a 402', async () => {
    const user = newUser()
    const depositAmount = 2_500n
    await deposit(user, depositAmount)
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => call(user, { meter: meters[i % 2], stream: true })),
    )
    const served = results.filter((r) => r.status === 200) as { receipt: SignedUsageReceipt }[]
    const refused = results.filter((r) => r.status !== 200) as {
      status: number
      error: Record<string, string>
    }[]
    expect(served.length).toBeGreaterThan(0)
    expect(refused.length).toBeGreaterThan(0)
    expect(
      refused.every((r) => r.status === 402 && r.error.code === 'rma_insufficient_balance'),
    ).toBe(true)
    const head = await stores[0]!.head({
      assetId: fx.assetId as Hex,
      meter: fx.meter.address as Address,
      user: user.address as Address,
    })
    const charged = served.reduce((sum, r) => sum + r.receipt.amount, 0n)
    expect(head.cumulativeAmount).toBe(charged)
    expect(charged).toBeLessThanOrEqual(depositAmount)
    // No reservation is left behind: the whole balance minus what was charged is available.
    const room = await stores[1]!.reserve({
      id: 'probe',
      chain: {
        assetId: fx.assetId as Hex,
        meter: fx.meter.address as Address,
        user: user.address as Address,
      },
      assets: [fx.assetId as Hex],
      amount: depositAmount - charged,
      limit: depositAmount,
      settled: new Map(),
      expiresAt: Date.now() + 1_000,
    })
    expect(room).toMatchObject({ reserved: true, held: 0n, pending: charged })
    await stores[1]!.release('probe')
  })
})
