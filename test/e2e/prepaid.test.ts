import { randomBytes } from 'node:crypto'
import { getRMA, type InsufficientBalanceEvent, withRMA } from '@rma/client'
import { toVoucher } from '@rma/contracts'
import {
  type Anvil,
  deploySettlementFixture,
  type SettlementFixture,
  startAnvil,
} from '@rma/contracts/testing'
import { type Address, createDomain, encodeAck, type Hex, type RmaDomain, signAck } from '@rma/core'
import {
  createFakeUpstream,
  createMeteredApp,
  type FakeUpstream,
  type MeteredApp,
} from '@rma/express/testing'
import { createSettler } from '@rma/settlement'
import { createPostgresStore } from '@rma/store'
import type { Wallet } from 'ethers'
import OpenAI from 'openai'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

// Prepaid end to end: users deposit on the real settlement contract (anvil), call through the
// official openai SDK wrapped by withRMA, against two meter instances (one key) sharing one
// PostgreSQL store; the settler submits their acks as vouchers.

const connectionString =
  process.env.RMA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const schema = `rma_prepaid_e2e_${randomBytes(4).toString('hex')}`
const shares = { issuerBps: 6000, supportersBps: 2500, usersBps: 1500, protocolBps: 0 }
const maxAmountPerCall = 200n
/** The clients call this origin; their fetch sends each call to one of the two meters in turn. */
const virtualOrigin = 'http://meters.invalid'

let anvil: Anvil
let fx: SettlementFixture
let upstream: FakeUpstream
let domain: RmaDomain
let stores: ReturnType<typeof createPostgresStore>[]
let meters: MeteredApp[]
let next = 0

beforeAll(async () => {
  anvil = await startAnvil({ accounts: 20 })
  fx = await deploySettlementFixture(anvil, { shares })
  domain = createDomain({ chainId: 31337, verifyingContract: fx.settlementAddress as Address })
  upstream = await createFakeUpstream()
  stores = [0, 1].map(() => createPostgresStore({ connectionString, schema }))
  meters = await Promise.all(stores.map((store) => meterOn(store, true)))
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

/** A meter on the fixture's asset and key; `prepaid: false` is a meter that skips coverage. */
async function meterOn(store: ReturnType<typeof createPostgresStore>, prepaid: boolean) {
  const app = await createMeteredApp({
    store,
    upstream,
    meterKey: fx.meter.privateKey,
    meter: {
      assetId: fx.assetId as Hex,
      chainId: 31337,
      settlementContract: fx.settlementAddress as Address,
      rpcUrl: anvil.url,
      ...(prepaid ? { prepaid: { balanceCacheMs: 1_000, maxUnacked: 1_000 } } : {}),
    },
  })
  await app.meter.ready
  return app
}

function newUser(): Wallet {
  const user = fx.others[next++]
  if (!user) throw new Error('out of anvil accounts')
  return user
}

/** The official SDK through withRMA, its calls spread over `targets` in turn. */
function clientFor(user: Wallet, targets: MeteredApp[] = meters) {
  let turn = 0
  const spread: typeof fetch = (input, init) => {
    const url = String(input instanceof Request ? input.url : input)
    const target = targets[turn++ % targets.length]!
    return fetch(url.replace(virtualOrigin, target.url), init)
  }
  return withRMA(new OpenAI({ baseURL: `${virtualOrigin}/v1`, apiKey: 'unused', maxRetries: 0 }), {
    signer: user,
    assetId: fx.assetId as Hex,
    chainId: 31337,
    settlementContract: fx.settlementAddress as Address,
    meters: [fx.meter.address as Address],
    maxAmountPerCall,
    prepaid: true,
    fetch: spread,
  })
}

const chat = {
  model: 'gpt-4o-mini',
  max_tokens: 50,
  messages: [{ role: 'user' as const, content: 'Hi' }],
}

async function streamed(client: ReturnType<typeof clientFor>): Promise<void> {
  const stream = await client.chat.completions.create({
    ...chat,
    stream: true,
    stream_options: { include_usage: true },
  })
  for await (const _ of stream);
}

function settler() {
  return createSettler({
    mode: 'prepaid',
    store: stores[0]!,
    signer: fx.settler,
    contract: fx.settlementAddress as Address,
    assetId: fx.assetId as Hex,
  })
}

const balanceOf = async (user: Wallet) =>
  (await fx.settlement.prepaidBalance(fx.tokenAddress, user.address))[0]
const tokenBalanceOf = (address: string) => fx.token.balanceOf(address)

describe('prepaid: users pay through the protocol', () => {
  test('three users, two meters on one PostgreSQL store: each debit equals what its user acked, rebates pro rata, the provider pays in nothing', async () => {
    const users = [newUser(), newUser(), newUser()]
    const deposits = [5_000n, 7_000n, 9_000n]
    const clients = users.map((user) => clientFor(user))
    for (const [i, client] of clients.entries()) await client.rma.deposit(deposits[i]!)
    // 6, 9 and 12 calls, half of them streamed, in parallel across users.
    await Promise.all(
      clients.map(async (client, i) => {
        for (let c = 0; c < 6 + 3 * i; c++)
          if (c % 2) await streamed(client)
          else await client.chat.completions.create(chat)
        await client.rma.settled()
        await client.rma.flushAcks()
      }),
    )
    const before = await Promise.all(clients.map((c) => c.rma.balance()))
    const acked = before.map((b) => b.acked)
    for (const [i, b] of before.entries()) {
      expect(b.balance).toBe(deposits[i])
      expect(b.pending).toBe(b.acked) // every receipt acked, none settled
      expect(b.acked).toBe(clients[i]!.rma.ledger.totals().all.amount)
    }
    const settlerTokens = await tokenBalanceOf(fx.settler.address)
    const contractTokens = await tokenBalanceOf(fx.settlementAddress)
    const result = await settler().settleOnce()
    expect(result).toMatchObject({ status: 'settled', mode: 'prepaid', settledVouchers: 3 })
    const after = await Promise.all(clients.map((c) => c.rma.balance()))
    const totalDebit = acked.reduce((a, b) => a + b, 0n)
    for (const [i, b] of after.entries()) {
      const rebate = (acked[i]! * BigInt(shares.usersBps)) / 10_000n
      // The debit is exactly what the user acked; its rebate, its share pro rata, came back.
      expect(b.debited).toBe(acked[i])
      expect(b.rebatesCredited).toBe(rebate)
      expect(b.balance).toBe(deposits[i]! - acked[i]! + rebate)
      expect(b.pending).toBe(0n)
      expect(await balanceOf(users[i]!)).toBe(b.balance)
    }
    if (result.status === 'settled') expect(result.revenue).toBe(totalDebit)
    console.log(
      `prepaid settle: acked ${acked.join(', ')}; debited ${after.map((b) => b.debited).join(', ')}; rebates ${after.map((b) => b.rebatesCredited).join(', ')}`,
    )
    // The provider (the settler) paid nothing in; the contract's tokens are the same (the
    // debits moved from balances to the roles' owed amounts).
    expect(await tokenBalanceOf(fx.settler.address)).toBe(settlerTokens)
    expect(await tokenBalanceOf(fx.settlementAddress)).toBe(contractTokens)
  })

  test('spend limit under load: 100 parallel streaming calls, balance for part of them: debited ≤ deposit, every refusal a 402, 0 overrun', async () => {
    const user = newUser()
    const client = clientFor(user)
    const deposit = 3_000n
    await client.rma.deposit(deposit)
    const refusals: InsufficientBalanceEvent[] = []
    client.rma.events.on('insufficientBalance', (event) => refusals.push(event))
    const outcomes = await Promise.allSettled(Array.from({ length: 100 }, () => streamed(client)))
    await client.rma.settled()
    await client.rma.flushAcks()
    const refused = outcomes.filter((o) => o.status === 'rejected') as PromiseRejectedResult[]
    const served = outcomes.length - refused.length
    expect(served).toBeGreaterThan(0)
    expect(refused.length).toBeGreaterThan(0)
    for (const { reason } of refused) {
      expect(reason).toBeInstanceOf(OpenAI.APIError)
      expect(reason).toMatchObject({ status: 402, code: 'rma_insufficient_balance' })
    }
    expect(refusals).toHaveLength(refused.length)
    expect(refusals.every((r) => r.needed === maxAmountPerCall && r.balance === deposit)).toBe(true)
    const charged = client.rma.ledger.totals().all.amount
    expect(client.rma.ledger.list()).toHaveLength(served)
    expect(charged).toBeLessThanOrEqual(deposit)
    const result = await settler().settleOnce()
    expect(result).toMatchObject({ status: 'settled' })
    const account = await client.rma.balance()
    expect(account.debited).toBe(charged)
    expect(account.debited).toBeLessThanOrEqual(deposit)
    expect(account.balance).toBe(deposit - charged + (charged * 1500n) / 10_000n)
    console.log(
      `spend limit: ${served} served, ${refused.length} refused with 402, charged ${charged} of a ${deposit} deposit, debited ${account.debited}`,
    )
  })

  describe('attacks', () => {
    test('a meter charging above the balance: its voucher is never debited past the balance', async () => {
      const user = newUser()
      const rogue = await meterOn(stores[1]!, false) // same key, coverage off
      try {
        const client = clientFor(user, [rogue])
        await client.rma.deposit(300n)
        for (let i = 0; i < 5; i++) await client.chat.completions.create(chat)
        await client.rma.settled()
        await client.rma.flushAcks()
        const owed = client.rma.ledger.totals().all.amount
        expect(owed).toBeGreaterThan(300n)
        // The settler holds the voucher back; submitted anyway, the contract skips it.
        const round = await settler().settleOnce()
        expect('skipped' in round && round.skipped).toContainEqual(
          expect.objectContaining({ reason: 'InsufficientBalance', user: user.address }),
        )
        const ack = (await stores[0]!.latestAck({
          assetId: fx.assetId as Hex,
          meter: fx.meter.address as Address,
          user: user.address as Address,
        }))!
        const tx = await fx.settlement
          .connect(fx.settler)
          .settlePrepaid(fx.assetId, [toVoucher(ack)])
        const receipt = await tx.wait()
        const skipped = receipt!.logs
          .map((log) => fx.settlement.interface.parseLog(log))
          .filter((log) => log?.name === 'VoucherSkipped')
        expect(skipped).toHaveLength(1)
        expect(skipped[0]!.args.reason).toBe(4n) // InsufficientBalance
        expect(await balanceOf(user)).toBe(300n)
        expect(
          (await fx.settlement.settledVoucher(fx.assetId, fx.meter.address, user.address))[1],
        ).toBe(0n)
      } finally {
        await rogue.close()
      }
    })

    test('a user acking a lowered cumulative amount: refused by the meter and the settler; the honest ack is debited in full', async () => {
      const user = newUser()
      const client = clientFor(user)
      await client.rma.deposit(5_000n)
      for (let i = 0; i < 3; i++) await client.chat.completions.create(chat)
      await client.rma.settled()
      await client.rma.flushAcks()
      const head = client.rma.ledger.list().at(-1)!
      const lowered = await signAck({
        signer: user,
        domain,
        ack: {
          assetId: head.receipt.assetId,
          user: head.receipt.user,
          meter: head.receipt.meter,
          seq: head.receipt.seq + 1,
          receiptHash: head.hash,
          cumulativeAmount: head.receipt.cumulativeAmount - 1n,
        },
      })
      const res = await fetch(`${meters[0]!.url}/rma/acks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ack: encodeAck(lowered) }),
      })
      expect(res.status).toBeGreaterThanOrEqual(400)
      expect(res.status).toBeLessThan(500)
      const chain = {
        assetId: fx.assetId as Hex,
        meter: fx.meter.address as Address,
        user: user.address as Address,
      }
      expect((await stores[0]!.latestAck(chain))?.cumulativeAmount).toBe(
        head.receipt.cumulativeAmount,
      )
      // Straight to the contract, the lowered voucher would debit less: the settler never sends
      // one, it settles the honest ack.
      await settler().settleOnce()
      expect(
        (await fx.settlement.settledVoucher(fx.assetId, fx.meter.address, user.address))[1],
      ).toBe(head.receipt.cumulativeAmount)
      expect((await client.rma.balance()).debited).toBe(head.receipt.cumulativeAmount)
    })

    test('a replayed ack: settled once, a second submission moves nothing', async () => {
      const user = newUser()
      const client = clientFor(user)
      await client.rma.deposit(5_000n)
      for (let i = 0; i < 2; i++) await client.chat.completions.create(chat)
      await client.rma.settled()
      await client.rma.flushAcks()
      const chain = {
        assetId: fx.assetId as Hex,
        meter: fx.meter.address as Address,
        user: user.address as Address,
      }
      const ack = (await stores[0]!.latestAck(chain))!
      await settler().settleOnce()
      const settledBalance = await balanceOf(user)
      const replay = await (
        await fx.settlement
          .connect(fx.settler)
          .settlePrepaid(fx.assetId, [toVoucher(ack), toVoucher(ack)])
      ).wait()
      const reasons = replay!.logs
        .map((log) => fx.settlement.interface.parseLog(log))
        .filter((log) => log?.name === 'VoucherSkipped')
        .map((log) => log!.args.reason)
      expect(reasons).toEqual([1n, 1n]) // NotNewer, twice
      expect(await balanceOf(user)).toBe(settledBalance)
      // The meter takes the old ack again without effect.
      const res = await fetch(`${meters[1]!.url}/rma/acks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ack: encodeAck(ack) }),
      })
      expect(res.status).toBe(201)
      expect(await settler().settleOnce()).toMatchObject({ status: 'idle' })
      expect(await balanceOf(user)).toBe(settledBalance)
      expect(getRMA(client)).toBe(client.rma)
    })
  })
})
