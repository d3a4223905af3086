import type { ClaimNonceParameters, ReceiptStore } from '@rma/core'
import { createLargeBodyBudget } from '@rma/meter'
import { attestWith } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createMeteredApp, type MeteredApp } from './testing/createMeteredApp.js'

describe('createLargeBodyBudget: the share of recent time spent on large bodies', () => {
  const clocks = () => {
    const state = { now: 0, active: 0 }
    return { state, now: () => state.now, activeMs: () => state.active }
  }

  test('admits one large body at a time until a cost was measured, then while the share is under the fraction', () => {
    const { state, now, activeMs } = clocks()
    const budget = createLargeBodyBudget({ fraction: 0.2, windowMs: 1000, now, activeMs })
    const first = budget.admit()
    expect('ticket' in first).toBe(true)
    // Its cost is unknown yet: a second one is not reserved blindly.
    expect(budget.admit()).toEqual({ retryAfterSeconds: 1 })
    if (!('ticket' in first)) return
    first.ticket.charge(50)
    state.active += 80
    first.ticket.release()
    // Charged its 80 ms of event-loop time, not only the 50 ms measured while reading.
    expect(budget.share()).toBeCloseTo(0.08)
    const second = budget.admit()
    expect('ticket' in second).toBe(true)
    // 80 spent + 80 expected for the one in flight: 0.16 < 0.2, so a third still fits …
    expect('ticket' in budget.admit()).toBe(true)
    // … and a fourth, with two in flight (0.24), does not.
    expect('retryAfterSeconds' in budget.admit()).toBe(true)
  })

  test('a full budget names a retry-after, and recovers as time passes', () => {
    const { state, now, activeMs } = clocks()
    const budget = createLargeBodyBudget({ fraction: 0.2, windowMs: 1000, now, activeMs })
    const admitted = budget.admit()
    if (!('ticket' in admitted)) throw new Error('the first large body is admitted')
    admitted.ticket.charge(1000)
    admitted.ticket.release()
    const refused = budget.admit()
    // 1000 ms spent decays under 200 after ln(5) s: 2 s, rounded up.
    expect(refused).toEqual({ retryAfterSeconds: 2 })
    state.now += 1700
    expect(budget.share()).toBeLessThan(0.2)
    expect('ticket' in budget.admit()).toBe(true)
  })

  test('event-loop time is shared among the large bodies in flight, never charged twice', () => {
    const { state, now, activeMs } = clocks()
    const budget = createLargeBodyBudget({ fraction: 1, windowMs: 1000, now, activeMs })
    const a = budget.admit()
    if (!('ticket' in a)) throw new Error('admitted')
    a.ticket.charge(10)
    a.ticket.release()
    const b = budget.admit()
    const c = budget.admit()
    if (!('ticket' in b) || !('ticket' in c)) throw new Error('admitted')
    state.active += 100
    b.ticket.release()
    b.ticket.release()
    c.ticket.release()
    // 10 + 100/2 for b + 100 for c (alone by then); a second release of b adds nothing.
    expect(budget.share()).toBeCloseTo(0.16)
  })
})

describe('large-body budget: a flood of large attested bodies cannot take the server', () => {
  let app: MeteredApp
  const claims: ClaimNonceParameters[] = []
  const attacker = Wallet.createRandom() as unknown as Wallet
  const honest = Wallet.createRandom() as unknown as Wallet
  const MiB = 1024 * 1024

  beforeAll(async () => {
    const store = createMemoryStore()
    const recording: ReceiptStore = {
      ...store,
      claimNonce: (parameters) => {
        claims.push(parameters)
        return store.claimNonce(parameters)
      },
    }
    // The default budget (0.2 of recent time); bodies over 256 KiB count as large.
    app = await createMeteredApp({ store: recording, meter: { largeBodyBytes: 256 * 1024 } })
  })
  afterAll(() => app.close())

  const largeBody = JSON.stringify({
    model: 'gpt-4o-mini',
    max_tokens: 16,
    messages: [{ role: 'user', content: 'lorem ipsum dolor sit amet '.repeat((2 * MiB) / 27) }],
  })

  async function send(user: Wallet, body: string) {
    const header = await attestWith(user, { body, maxAmount: 10n ** 15n })
    const response = await fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'rma-attestation': header },
      body,
    })
    const text = await response.text()
    return { response, text }
  }

  test('large bodies past the budget get 429 rma_busy with retry-after, unforwarded, unclaimed, uncharged; a small honest call is still served with its receipt', async () => {
    const upstreamFrom = app.upstream.requests.length
    const answers: Awaited<ReturnType<typeof send>>[] = []
    // 40 bodies of 2 MiB, 8 at a time, as fast as the server answers.
    for (let wave = 0; wave < 5; wave++)
      answers.push(
        ...(await Promise.all(Array.from({ length: 8 }, () => send(attacker, largeBody)))),
      )
    const small = await fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'rma-attestation': await attestWith(honest, {
          body: JSON.stringify({
            model: 'gpt-4o-mini',
            max_tokens: 16,
            messages: [{ role: 'user', content: 'Hi' }],
          }),
        }),
      },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    })
    const served = answers.filter((a) => a.response.status === 200)
    const refused = answers.filter((a) => a.response.status === 429)
    expect(served.length + refused.length).toBe(answers.length)
    expect(refused.length).toBeGreaterThan(0)
    expect(served.length).toBeGreaterThan(0)
    for (const { response, text } of refused) {
      const error = (JSON.parse(text) as { error: { code: string; type: string } }).error
      expect(error.code).toBe('rma_busy')
      expect(error.type).toBe('rate_limit_error')
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(response.headers.get('rma-receipt')).toBeNull()
    }
    // Only admitted calls (and the small one) reached the upstream, claimed a nonce, were charged.
    expect(app.upstream.requests.length - upstreamFrom).toBe(served.length + 1)
    const attackerClaims = claims.filter(
      (c) => c.user.toLowerCase() === attacker.address.toLowerCase(),
    )
    expect(attackerClaims.length).toBe(served.length)
    const receipts = await app.store.listByUser({ user: attacker.address as `0x${string}` })
    expect(receipts.length).toBe(served.length)
    // Small calls never go through the budget.
    expect(small.status).toBe(200)
    expect(small.headers.get('rma-receipt')).toBeTruthy()
    expect(await app.store.listByUser({ user: honest.address as `0x${string}` })).toHaveLength(1)
  }, 60_000)
})

describe('large-body budget: a spent budget refuses chunked bodies once they grow large', () => {
  let app: MeteredApp
  const user = Wallet.createRandom() as unknown as Wallet
  beforeAll(async () => {
    // A budget so small that one large body spends it for minutes.
    app = await createMeteredApp({
      store: createMemoryStore(),
      meter: { largeBodyBytes: 64 * 1024, largeBodyBudget: 1e-9 },
    })
  })
  afterAll(() => app.close())

  const body = (size: number) =>
    JSON.stringify({
      model: 'gpt-4o-mini',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'a'.repeat(size) }],
    })

  async function post(text: string, chunked: boolean) {
    const bytes = new TextEncoder().encode(text)
    const response = await fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'rma-attestation': await attestWith(user, { body: text, maxAmount: 10n ** 15n }),
      },
      // A stream has no content-length: sent chunked, it is large only once 64 KiB arrived.
      body: chunked
        ? new ReadableStream({
            start(controller) {
              for (let i = 0; i < bytes.length; i += 16 * 1024)
                controller.enqueue(bytes.subarray(i, i + 16 * 1024))
              controller.close()
            },
          })
        : text,
      ...(chunked ? { duplex: 'half' } : {}),
    } as RequestInit)
    return { status: response.status, text: await response.text() }
  }

  test('the first large body is served; then chunked and declared large bodies get 429, small ones are served', async () => {
    const from = app.upstream.requests.length
    expect((await post(body(200 * 1024), false)).status).toBe(200)
    const chunked = await post(body(200 * 1024), true)
    expect(chunked.status).toBe(429)
    expect(JSON.parse(chunked.text).error.code).toBe('rma_busy')
    expect((await post(body(200 * 1024), false)).status).toBe(429)
    expect((await post(body(1000), true)).status).toBe(200)
    expect((await post(body(1000), false)).status).toBe(200)
    expect(app.upstream.requests.length - from).toBe(3)
    expect(await app.store.listByUser({ user: user.address as `0x${string}` })).toHaveLength(3)
  })
})
