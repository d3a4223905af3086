import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Address,
  createDomain,
  decodeReceipt,
  hashReceipt,
  type ReceiptStore,
} from '@rma/core'
import {
  attestingFetch,
  chainId,
  createFakeUpstream,
  type FakeUpstream,
  settlementContract,
} from '@rma/express/testing'
import { createPostgresStore, createSqliteStore } from '@rma/store'
import { createTcpProxy } from '@rma/store/testing'
import { Wallet } from 'ethers'
import OpenAI, { APIError } from 'openai'
import { afterEach, expect, test } from 'vitest'
import { type StartedProcess, startMeterServer } from '../fixtures/startProcess.js'

const domain = createDomain({ chainId, verifyingContract: settlementContract })
const pgUrl = (port: number) => `postgres://postgres@127.0.0.1:${port}/test`
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

async function startUpstream(): Promise<FakeUpstream> {
  const upstream = await createFakeUpstream()
  cleanups.push(() => upstream.close())
  return upstream
}

async function startServer(env: Record<string, string>): Promise<StartedProcess> {
  const server = await startMeterServer(env)
  cleanups.push(async () => {
    server.child.kill('SIGTERM')
    await server.exited
  })
  return server
}

/** The official SDK as one attested user, retrying nothing (every outcome is counted). */
function sdkFor(url: string, user: Wallet) {
  return new OpenAI({
    baseURL: `${url}/v1`,
    apiKey: 'sk-app',
    fetch: attestingFetch(user),
    maxRetries: 0,
    timeout: 30_000,
  })
}

type Outcome =
  /** The answer reached the client whole: a JSON body, or a stream the SDK read to its end. */
  { delivered: true; id: string; receipt?: string } | { delivered: false; error: unknown }

/** One chat call, JSON or streamed; delivered only when the SDK raised nothing. */
async function call(client: OpenAI, stream: boolean, n: number): Promise<Outcome> {
  const messages = [{ role: 'user' as const, content: `call ${n}` }]
  try {
    if (!stream) {
      const { data, response } = await client.chat.completions
        .create({ model: 'gpt-4o-mini', messages })
        .withResponse()
      expect(data.choices[0]?.message.content).toBeTruthy()
      return {
        delivered: true,
        id: response.headers.get('rma-receipt-id')!,
        receipt: response.headers.get('rma-receipt')!,
      }
    }
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages, stream: true })
      .withResponse()
    let text = ''
    for await (const chunk of data) text += chunk.choices[0]?.delta?.content ?? ''
    expect(text).toContain('word7')
    return { delivered: true, id: response.headers.get('rma-receipt-id')! }
  } catch (error) {
    return { delivered: false, error }
  }
}

/** Every delivered call has its receipt in `store`, the one in its header when it had one. */
async function expectAllStored(store: ReceiptStore, outcomes: Outcome[]) {
  let checked = 0
  for (const outcome of outcomes) {
    if (!outcome.delivered) continue
    const stored = await store.get(outcome.id)
    expect(stored, `receipt of delivered call ${outcome.id}`).toBeDefined()
    if (outcome.receipt)
      expect(hashReceipt(decodeReceipt(outcome.receipt), domain)).toBe(stored!.hash)
    checked++
  }
  return checked
}

test('PostgreSQL cut mid-run: every JSON body and stream the SDK completed has its receipt in the database', async () => {
  const schema = `rma_failclosed_${Date.now().toString(36)}`
  const proxy = await createTcpProxy({ target: { host: '127.0.0.1', port: 5432 } })
  cleanups.push(() => proxy.close())
  const upstream = await startUpstream()
  const server = await startServer({
    STORE: 'postgres',
    PG_URL: pgUrl(proxy.port),
    PG_SCHEMA: schema,
    METER_KEY: Wallet.createRandom().privateKey,
    UPSTREAM_URL: upstream.url,
  })
  const users = Array.from({ length: 4 }, () => Wallet.createRandom() as unknown as Wallet)
  const outcomes: Outcome[] = []
  let phase: 'before' | 'cut' | 'after' | 'lost' | 'last' = 'before'
  const byPhase = {
    before: [] as Outcome[],
    cut: [] as Outcome[],
    after: [] as Outcome[],
    lost: [] as Outcome[],
    last: [] as Outcome[],
  }
  let stop = false
  const workers = Array.from({ length: 8 }, async (_, w) => {
    const client = sdkFor(server.url, users[w % users.length]!)
    for (let n = 0; !stop; n++) {
      const at = phase
      const outcome = await call(client, w % 2 === 1, n)
      outcomes.push(outcome)
      byPhase[at].push(outcome)
    }
  })
  const deliveredIn = (list: Outcome[]) => list.filter((o) => o.delivered).length
  const waitFor = async (done: () => boolean) => {
    for (let i = 0; i < 1500 && !done(); i++) await new Promise((r) => setTimeout(r, 10))
  }
  await waitFor(() => deliveredIn(byPhase.before) >= 40)
  // Cut every connection to the database, and refuse new ones, with calls in flight.
  proxy.refuse()
  proxy.cut()
  phase = 'cut'
  await waitFor(() => byPhase.cut.filter((o) => !o.delivered).length >= 16)
  await new Promise((r) => setTimeout(r, 1000))
  proxy.accept()
  phase = 'after'
  await waitFor(() => deliveredIn(byPhase.after) >= 40)
  // Then the database's replies are lost for a while (commits happen, their answers do not
  // arrive): a receipt committed there must not be called unstored.
  proxy.dropReplies()
  phase = 'lost'
  await new Promise((r) => setTimeout(r, 1500))
  const dropped = proxy.droppedBytes
  proxy.resume()
  phase = 'last'
  await waitFor(() => deliveredIn(byPhase.last) >= 20)
  stop = true
  await Promise.all(workers)

  const store = createPostgresStore({ connectionString: pgUrl(5432), schema })
  try {
    const checked = await expectAllStored(store, outcomes)
    expect(checked).toBe(deliveredIn(outcomes))
    // And the other way round: no receipt charges a call that was refused ("unstored" was
    // never said of a stored receipt).
    const receipts = (
      await Promise.all(
        users.map((u) => store.listByUser({ user: u.address as Address, limit: 100_000 })),
      )
    ).flat()
    expect(receipts).toHaveLength(deliveredIn(outcomes))
    // The cut was felt (calls were refused), and the meter served again once it ended.
    const refused = byPhase.cut.filter((o) => !o.delivered)
    expect(refused.length).toBeGreaterThanOrEqual(16)
    for (const outcome of refused)
      expect((outcome as { error: unknown }).error).toBeInstanceOf(APIError)
    expect(deliveredIn(byPhase.before)).toBeGreaterThanOrEqual(40)
    expect(deliveredIn(byPhase.after)).toBeGreaterThanOrEqual(40)
    // Replies of statements in flight were lost indeed.
    expect(dropped).toBeGreaterThan(0)
    expect(deliveredIn(byPhase.last)).toBeGreaterThanOrEqual(20)
  } finally {
    await store.close()
  }
})

test('a read-only SQLite file at startup: every call refused before the upstream, /rma/health 503', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rma-failclosed-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'receipts.db')
  const created = createSqliteStore({ path })
  await created.checkWritable()
  await created.close()
  await chmod(path, 0o444)
  const upstream = await startUpstream()
  const server = await startServer({
    STORE: 'sqlite',
    SQLITE_PATH: path,
    METER_KEY: Wallet.createRandom().privateKey,
    UPSTREAM_URL: upstream.url,
  })
  const client = sdkFor(server.url, Wallet.createRandom() as unknown as Wallet)
  for (let n = 0; n < 6; n++) {
    const outcome = await call(client, n % 2 === 1, n)
    expect(outcome.delivered).toBe(false)
    const error = (outcome as { error: unknown }).error as APIError
    expect(error).toBeInstanceOf(APIError)
    expect(error.status).toBe(503)
    expect(error.code).toBe('rma_store_unavailable')
  }
  expect(upstream.requests).toHaveLength(0)
  const health = await fetch(`${server.url}/rma/health`)
  expect(health.status).toBe(503)
  expect(await health.json()).toMatchObject({ ok: false })
})

test('the store directory removed while running: nothing is served from then on, /rma/health 503', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rma-failclosed-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'store', 'receipts.db')
  const upstream = await startUpstream()
  const server = await startServer({
    STORE: 'sqlite',
    SQLITE_PATH: path,
    METER_KEY: Wallet.createRandom().privateKey,
    UPSTREAM_URL: upstream.url,
  })
  const client = sdkFor(server.url, Wallet.createRandom() as unknown as Wallet)
  for (let n = 0; n < 4; n++) expect((await call(client, n % 2 === 1, n)).delivered).toBe(true)
  expect((await fetch(`${server.url}/rma/health`)).status).toBe(200)

  await rm(join(dir, 'store'), { recursive: true, force: true })
  // Calls right after the removal: none is delivered (at worst forwarded, then withheld).
  const after: Outcome[] = []
  for (let n = 0; n < 6; n++) after.push(await call(client, n % 2 === 1, 100 + n))
  expect(after.filter((o) => o.delivered)).toEqual([])
  for (const outcome of after)
    expect(((outcome as { error: unknown }).error as APIError).code).toBe('rma_store_unavailable')
  let health = await fetch(`${server.url}/rma/health`)
  for (let i = 0; i < 100 && health.status !== 503; i++) {
    await new Promise((r) => setTimeout(r, 20))
    health = await fetch(`${server.url}/rma/health`)
  }
  expect(health.status).toBe(503)
  // Once known, calls are refused before forwarding: the provider's key is not spent on calls
  // the meter could not record.
  const forwarded = upstream.requests.length
  for (let n = 0; n < 4; n++)
    expect((await call(client, n % 2 === 1, 200 + n)).delivered).toBe(false)
  expect(upstream.requests.length).toBe(forwarded)
})
