import type { ClaimNonceParameters, ReceiptStore } from '@rma/core'
import { attestWith, createFakeUpstream, type FakeUpstream } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { afterEach, describe, expect, test } from 'vitest'
import { createMeteredApp, type MeteredApp } from './testing/createMeteredApp.js'

const user = Wallet.createRandom() as unknown as Wallet
const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
const open: (MeteredApp | FakeUpstream)[] = []
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close()
})

/** A store that records every nonce claim it is asked for. */
function recording(store: ReceiptStore) {
  const claims: ClaimNonceParameters[] = []
  const wrapped: ReceiptStore = {
    ...store,
    claimNonce: (parameters) => {
      claims.push(parameters)
      return store.claimNonce(parameters)
    },
  }
  return { store: wrapped, claims }
}

async function start(store: ReceiptStore, now?: () => number, upstream?: FakeUpstream) {
  const app = await createMeteredApp({ store, upstream, meter: now ? { now } : {} })
  open.push(app)
  return app
}

const call = (app: MeteredApp, attestation: string) =>
  fetch(`${app.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'rma-attestation': attestation },
    body,
  })

async function codeOf(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code
}

describe('replay: a nonce is accepted once per asset, for as long as it is accepted at all', () => {
  test('a replay after expiry but inside the clock-skew window is refused, and nothing is served twice', async () => {
    const base = Math.floor(Date.now() / 1000)
    let now = base
    const { store, claims } = recording(createMemoryStore())
    const app = await start(store, () => now)
    const attestation = await attestWith(user, { body, expiry: base + 5 })
    expect((await call(app, attestation)).status).toBe(200)
    const served = app.upstream.requests.length
    // Past expiry, still inside the 30 s skew: the old cache had forgotten the nonce here.
    for (const later of [6, 20, 35]) {
      now = base + later
      const replay = await call(app, attestation)
      expect(replay.status).toBe(401)
      expect(await codeOf(replay)).toBe('rma_attestation_replayed')
    }
    now = base + 36
    const expired = await call(app, attestation)
    expect(await codeOf(expired)).toBe('rma_attestation_expired')
    expect(app.upstream.requests.length).toBe(served)
    expect(await app.store.listByUser({ user: user.address as `0x${string}` })).toHaveLength(1)
    // The register keeps the nonce exactly as long as the meter would accept it.
    expect(claims[0]?.keepUntil).toBe(base + 5 + 30)
  })

  test('two meters sharing one store: the second refuses what the first served', async () => {
    const shared = createMemoryStore()
    const upstream = await createFakeUpstream()
    open.push(upstream)
    const first = await start(shared, undefined, upstream)
    const second = await start(shared, undefined, upstream)
    const attestation = await attestWith(user, { body })
    expect((await call(first, attestation)).status).toBe(200)
    const replay = await call(second, attestation)
    expect(replay.status).toBe(401)
    expect(await codeOf(replay)).toBe('rma_attestation_replayed')
    expect(upstream.requests).toHaveLength(1)
  })

  test('concurrent replays of one attestation: exactly one is served', async () => {
    const app = await start(createMemoryStore())
    const attestation = await attestWith(user, { body })
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(app, attestation)))
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401, 401, 401, 401])
    expect(app.upstream.requests).toHaveLength(1)
  })

  test('refused calls claim no nonce: the register is filled only by calls that passed every other check', async () => {
    const { store, claims } = recording(createMemoryStore())
    const app = await start(store)
    const refused = [
      await attestWith(user, { body: 'other body' }),
      await attestWith(user, { body, maxAmount: 0n }),
      await attestWith(user, { body, assetId: `0x${'11'.repeat(32)}` }),
      await attestWith(user, { body, expiry: Math.floor(Date.now() / 1000) - 120 }),
    ]
    for (const attestation of refused)
      expect((await call(app, attestation)).status).toBeGreaterThanOrEqual(400)
    expect(claims).toEqual([])
    expect(app.upstream.requests).toHaveLength(0)
    // The refused attestation's nonce is still free for the honest call it was meant for.
    const nonce = 77n
    expect((await call(app, await attestWith(user, { body, nonce, maxAmount: 0n }))).status).toBe(
      402,
    )
    expect((await call(app, await attestWith(user, { body, nonce }))).status).toBe(200)
    expect(claims.map((c) => c.nonce)).toEqual([nonce])
  })

  test('a store that cannot record the nonce refuses the call (503) and forwards nothing', async () => {
    const store = createMemoryStore()
    const app = await start({
      ...store,
      claimNonce: () => Promise.reject(new Error('connection refused 10.0.0.7:5432')),
    })
    const res = await call(app, await attestWith(user, { body }))
    expect(res.status).toBe(503)
    const text = await res.text()
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'rma_store_unavailable' } })
    expect(text).not.toContain('10.0.0.7')
    expect(app.upstream.requests).toHaveLength(0)
  })
})
