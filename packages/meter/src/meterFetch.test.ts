import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type AppendReceiptParameters,
  BaseError,
  decodeReceipt,
  type Hex,
  priceUsage,
  type ReceiptStore,
  type SignedUsageReceipt,
  type Usage,
  verifyReceipt,
} from '@rma/core'
import { createSqliteStore } from '@rma/store'
import { Wallet } from 'ethers'
import OpenAI, { APIError } from 'openai'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createMeter } from './createMeter.js'
import { createOpenAIProxy } from './createOpenAIProxy.js'
import { createRmaRoutes } from './createRmaRoutes.js'
import type { Meter } from './Meter.js'
import type { ReceiptJSON } from './receiptToJSON.js'
import { attestingFetch } from './testing/attestingFetch.js'
import { attestWith } from './testing/attestWith.js'
import { createFakeUpstream, type FakeUpstream, fakeUsage } from './testing/createFakeUpstream.js'
import { type ServedFetch, serveFetch } from './testing/serveFetch.js'
import { assetId, chainId, prices, settlementContract } from './testing/testAsset.js'

const reported: Usage = {
  inputTokens: fakeUsage.input,
  cachedInputTokens: fakeUsage.cached,
  outputTokens: fakeUsage.output,
  reasoningTokens: fakeUsage.reasoning,
}

/**
 * A real SQLite store that can be made to fail its appends, as a store that lost its disk after
 * the call was admitted does.
 */
function breakable(store: ReceiptStore) {
  const state = { appends: true }
  const failing: ReceiptStore = {
    ...store,
    append: async (parameters: AppendReceiptParameters) => {
      if (!state.appends)
        throw new BaseError('The store cannot write.', { code: 'STORE_UNAVAILABLE' })
      return store.append(parameters)
    },
  }
  return { store: failing, state }
}

let dir: string
let upstream: FakeUpstream
let sqlite: ReceiptStore & { close(): Promise<void> }
let broken: ReturnType<typeof breakable>
let meter: Meter
let served: ServedFetch
let meterWallet: Wallet
const user = Wallet.createRandom() as unknown as Wallet

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rma-meter-'))
  upstream = await createFakeUpstream()
  sqlite = createSqliteStore({ path: join(dir, 'receipts.db') }) as typeof sqlite
  broken = breakable(sqlite)
  meterWallet = Wallet.createRandom() as unknown as Wallet
  meter = testMeter({ store: broken.store })
  const proxy = createOpenAIProxy({ upstream: `${upstream.url}/v1`, apiKey: 'sk-upstream' })
  const routes = createRmaRoutes({ meter })
  served = await serveFetch(
    async (request, { signal }) =>
      (await routes(request)) ?? meter.fetch(request, proxy, { signal }),
  )
})
afterAll(async () => {
  await served.close()
  await upstream.close()
  await sqlite.close()
  rmSync(dir, { recursive: true, force: true })
})

/** A meter of the test asset on the test meter key. */
function testMeter(options: { store: ReceiptStore; unknownModel?: 'free' }): Meter {
  return createMeter({
    assetId,
    chainId,
    settlementContract,
    prices,
    signer: meterWallet,
    ...options,
  })
}

function sdk(extra: Record<string, string> = {}) {
  return new OpenAI({
    baseURL: `${served.url}/v1`,
    apiKey: 'sk-app',
    fetch: attestingFetch(user, extra),
    maxRetries: 0,
  })
}

async function storedReceipt(id: string | null): Promise<SignedUsageReceipt> {
  expect(id).toMatch(/^[0-9a-f-]{36}$/)
  // A stream's receipt is stored when its stream ends, a moment after the client saw [DONE].
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${served.url}/rma/receipts/${id}`)
    if (res.status === 200) return decodeReceipt(((await res.json()) as ReceiptJSON).encoded)
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`receipt ${id} never stored`)
}

function expectReceipt(receipt: SignedUsageReceipt, usage: Usage) {
  expect(verifyReceipt({ receipt, domain: meter.config.domain })).toBe(true)
  expect(receipt.meter).toBe(meterWallet.address.toLowerCase())
  expect(receipt.user).toBe(user.address.toLowerCase())
  expect({
    inputTokens: receipt.inputTokens,
    cachedInputTokens: receipt.cachedInputTokens,
    outputTokens: receipt.outputTokens,
    reasoningTokens: receipt.reasoningTokens,
  }).toEqual(usage)
  expect(receipt.amount).toBe(priceUsage(prices, 'gpt-4o-mini', usage))
}

/** The `code` of an OpenAI-shaped error answer. */
async function codeOf(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code
}

async function receiptCount() {
  return (await sqlite.listByUser({ user: user.address as Hex, limit: 10_000 })).length
}

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Hi' }] }

describe('meter.fetch + createOpenAIProxy on a node:http server (web Request/Response)', () => {
  test('chat JSON: the official SDK gets the answer with a receipt of the reported usage, stored in SQLite', async () => {
    const { data, response } = await sdk().chat.completions.create(chat).withResponse()
    expect(data.choices[0]?.message.content).toBe('Hello there, how can I help?')
    const receipt = decodeReceipt(response.headers.get('rma-receipt'))
    expectReceipt(receipt, reported)
    expect(receipt.usageSource).toBe('reported')
    const stored = await sqlite.get(response.headers.get('rma-receipt-id')!)
    expect(stored?.receipt).toEqual(receipt)
  })

  test('chat SSE: frames pass, include_usage is added upstream and stripped, the usage is reported through call.report', async () => {
    const { data: stream, response } = await sdk()
      .chat.completions.create({ ...chat, stream: true })
      .withResponse()
    let text = ''
    const chunks: unknown[] = []
    for await (const chunk of stream) {
      chunks.push(chunk)
      text += chunk.choices[0]?.delta?.content ?? ''
    }
    expect(text).toBe('word0 word1 word2 word3 word4 word5 word6 word7 ')
    // The client did not ask for usage: it sees none of what the proxy added.
    expect(JSON.stringify(chunks)).not.toContain('usage')
    expect(upstream.requests.at(-1)?.body.stream_options).toEqual({ include_usage: true })
    const receipt = await storedReceipt(response.headers.get('rma-receipt-id'))
    expectReceipt(receipt, reported)
    expect(receipt.usageSource).toBe('reported')
  })

  test('SSE with rma-receipt: inline: [DONE] then the receipt frame, the same receipt as stored', async () => {
    const body = JSON.stringify({ ...chat, stream: true })
    const res = await attestingFetch(user, { 'rma-receipt': 'inline' })(
      `${served.url}/v1/chat/completions`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body },
    )
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const text = await res.text()
    const done = text.indexOf('data: [DONE]')
    const frame = text.indexOf('event: rma.receipt')
    expect(done).toBeGreaterThan(0)
    expect(frame).toBeGreaterThan(done)
    const data = JSON.parse(text.slice(frame).split('\n')[1]!.slice('data: '.length)) as {
      id: string
      receipt: string
    }
    expect(data.id).toBe(res.headers.get('rma-receipt-id'))
    const receipt = decodeReceipt(data.receipt)
    expectReceipt(receipt, reported)
    expect((await sqlite.get(data.id))?.receipt).toEqual(receipt)
  })

  test('a handler that is not the proxy gets the call and the same body bytes; its JSON is metered', async () => {
    const own = testMeter({ store: sqlite })
    const seen: { body: string; user?: string }[] = []
    const app = await serveFetch((request, { signal }) =>
      own.fetch(
        request,
        async (forwarded, call) => {
          seen.push({ body: await forwarded.text(), user: call?.user })
          return Response.json({
            id: 'x',
            object: 'chat.completion',
            model: 'gpt-4o-mini',
            choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }],
            usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
          })
        },
        { signal },
      ),
    )
    try {
      const body = JSON.stringify(chat)
      const res = await attestingFetch(user)(`${app.url}/v1/chat/completions`, {
        method: 'POST',
        body,
      })
      expect(res.status).toBe(200)
      expect(seen).toEqual([{ body, user: user.address.toLowerCase() }])
      const receipt = decodeReceipt(res.headers.get('rma-receipt'))
      expect(receipt.inputTokens).toBe(3)
      expect(receipt.outputTokens).toBe(2)
      // Not a metered route: straight to the handler, without a call.
      const free = await fetch(`${app.url}/hello`)
      expect(free.status).toBe(200)
      expect(seen.at(-1)).toEqual({ body: '', user: undefined })
    } finally {
      await app.close()
    }
  })
})

describe('meter.fetch refusals: nothing forwarded, nothing charged', () => {
  const post = (path: string, headers: Record<string, string>, body = JSON.stringify(chat)) =>
    fetch(`${served.url}${path}`, { method: 'POST', headers, body })

  test('no attestation: 401 in OpenAI shape, the upstream sees nothing', async () => {
    const before = upstream.requests.length
    const res = await post('/v1/chat/completions', {})
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({
      error: {
        message: 'Missing rma-attestation header.',
        type: 'authentication_error',
        code: 'rma_attestation_missing',
        param: null,
      },
    })
    expect(upstream.requests.length).toBe(before)
  })

  test('attack: an attestation signed for other bytes is refused (400), the nonce not used', async () => {
    const before = upstream.requests.length
    const header = await attestWith(user, { body: JSON.stringify({ ...chat, model: 'x' }) })
    const res = await post('/v1/chat/completions', { 'rma-attestation': header })
    expect(res.status).toBe(400)
    expect(await codeOf(res)).toBe('rma_request_hash_mismatch')
    expect(upstream.requests.length).toBe(before)
  })

  test('attack: a replayed attestation is served once, then refused (401) without reaching the upstream', async () => {
    const body = JSON.stringify(chat)
    const header = await attestWith(user, { body })
    const first = await post('/v1/chat/completions', { 'rma-attestation': header }, body)
    expect(await first.clone().text()).toContain('Hello there')
    expect(first.status).toBe(200)
    await first.arrayBuffer()
    const before = upstream.requests.length
    const count = await receiptCount()
    const replay = await post('/v1/chat/completions', { 'rma-attestation': header }, body)
    expect(replay.status).toBe(401)
    expect(await codeOf(replay)).toBe('rma_attestation_replayed')
    expect(upstream.requests.length).toBe(before)
    expect(await receiptCount()).toBe(count)
  })

  test('attack: a maxAmount below the worst case is refused (402) before anything is forwarded', async () => {
    const body = JSON.stringify(chat)
    const before = upstream.requests.length
    const res = await post(
      '/v1/chat/completions',
      { 'rma-attestation': await attestWith(user, { body, maxAmount: 1n }) },
      body,
    )
    expect(res.status).toBe(402)
    expect(await codeOf(res)).toBe('rma_insufficient_max_amount')
    expect(upstream.requests.length).toBe(before)
  })

  test('attack: an encoded slash that could hide a metered route is refused (400)', async () => {
    const body = JSON.stringify(chat)
    const before = upstream.requests.length
    const res = await post(
      '/v1/chat%2Fcompletions',
      { 'rma-attestation': await attestWith(user, { body }) },
      body,
    )
    expect(res.status).toBe(400)
    expect(await codeOf(res)).toBe('rma_invalid_path')
    expect(upstream.requests.length).toBe(before)
  })

  test('attack: a route the meter does not meter never spends the provider key (the proxy refuses the unmetered call)', async () => {
    const before = upstream.requests.length
    const res = await fetch(`${served.url}/v1/models`)
    expect(res.status).toBe(404)
    expect(await codeOf(res)).toBe('rma_route_not_allowed')
    const unmetered = await fetch(`${served.url}/v1/chat/completions`, {
      method: 'PUT',
      body: JSON.stringify(chat),
    })
    expect(unmetered.status).toBe(500)
    expect(await codeOf(unmetered)).toBe('rma_unmetered_call')
    expect(upstream.requests.length).toBe(before)
  })

  test('an unpriced model is refused (400) before anything is forwarded', async () => {
    const body = JSON.stringify({ ...chat, model: 'gpt-unknown' })
    const res = await post(
      '/v1/chat/completions',
      { 'rma-attestation': await attestWith(user, { body }) },
      body,
    )
    expect(res.status).toBe(400)
    expect(await codeOf(res)).toBe('rma_model_not_priced')
  })
})

describe('meter.fetch: client abort and a failing store', () => {
  test('client abort mid-stream: the upstream call is cancelled, the receipt is partial and charges only what was delivered', async () => {
    const cancelled = upstream.cancelled
    const controller = new AbortController()
    const { data: stream, response } = await sdk()
      .chat.completions.create(
        { ...chat, model: 'slow', stream: true },
        { signal: controller.signal },
      )
      .withResponse()
    let text = ''
    try {
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? ''
        if (text.length > 0) controller.abort()
      }
    } catch {}
    expect(text.length).toBeGreaterThan(0)
    const id = response.headers.get('rma-receipt-id')
    let stored = await sqlite.get(id!)
    for (let i = 0; i < 400 && !stored; i++) {
      await new Promise((r) => setTimeout(r, 25))
      stored = await sqlite.get(id!)
    }
    expect(stored?.receipt.usageSource).toBe('partial')
    expect(verifyReceipt({ receipt: stored!.receipt, domain: meter.config.domain })).toBe(true)
    // The answer was cut: fewer output tokens than the whole answer reports.
    expect(stored!.receipt.outputTokens).toBeLessThan(fakeUsage.output)
    for (let i = 0; i < 400 && upstream.cancelled === cancelled; i++)
      await new Promise((r) => setTimeout(r, 25))
    expect(upstream.cancelled).toBe(cancelled + 1)
  })

  test('attack: the store fails after admission: a JSON answer is withheld (503), no receipt, no body', async () => {
    const before = await receiptCount()
    broken.state.appends = false
    const outcome = await sdk()
      .chat.completions.create(chat)
      .then(
        () => undefined,
        (error: unknown) => error,
      )
      .finally(() => {
        broken.state.appends = true
      })
    expect(outcome).toBeInstanceOf(APIError)
    const error = outcome as APIError
    expect(error.status).toBe(503)
    expect(error.code).toBe('rma_store_unavailable')
    expect(error.headers?.get('rma-receipt')).toBeNull()
    expect(JSON.stringify(error.error)).not.toContain('Hello there')
    expect(await receiptCount()).toBe(before)
  })

  test('attack: the store fails after admission: a stream never delivers [DONE], it ends with an SSE error the SDK raises', async () => {
    const before = await receiptCount()
    broken.state.appends = false
    const body = JSON.stringify({ ...chat, stream: true })
    const text = await attestingFetch(user)(`${served.url}/v1/chat/completions`, {
      method: 'POST',
      body,
    })
      .then((res) => res.text())
      .finally(() => {
        broken.state.appends = true
      })
    expect(text).not.toContain('[DONE]')
    expect(text).toContain('event: error')
    expect(text).toContain('rma_store_unavailable')
    expect(await receiptCount()).toBe(before)
    const raised = await (async () => {
      broken.state.appends = false
      try {
        const stream = await sdk().chat.completions.create({ ...chat, stream: true })
        for await (const _ of stream) {
        }
        return undefined
      } catch (error) {
        return error
      } finally {
        broken.state.appends = true
      }
    })()
    expect(raised).toBeInstanceOf(APIError)
    expect(await receiptCount()).toBe(before)
  })

  test('upstream 429: its error and retry headers reach the client, nothing is charged', async () => {
    const before = await receiptCount()
    const body = JSON.stringify({ ...chat, model: 'fail-429' })
    const res = await attestingFetch(user)(`${served.url}/v1/chat/completions`, {
      method: 'POST',
      body,
    })
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).not.toBeNull()
    expect(res.headers.get('rma-receipt')).toBeNull()
    expect(((await res.json()) as { error: { message: string } }).error.message).toBeTypeOf(
      'string',
    )
    expect(await receiptCount()).toBe(before)
  })

  test('upstream reset mid-stream: the client gets an SSE error instead of [DONE], nothing is charged', async () => {
    // The fake upstream's failure modes are models the table does not price.
    const free = testMeter({ store: sqlite, unknownModel: 'free' })
    const proxy = createOpenAIProxy({ upstream: `${upstream.url}/v1` })
    const app = await serveFetch((request, { signal }) => free.fetch(request, proxy, { signal }))
    const before = await receiptCount()
    const body = JSON.stringify({ ...chat, model: 'reset-mid-stream', stream: true })
    const res = await attestingFetch(user)(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      body,
    })
    const text = await res.text()
    expect(text).not.toContain('[DONE]')
    expect(text).toContain('event: error')
    expect(text).toContain('upstream_reset')
    expect(await receiptCount()).toBe(before)
    await app.close()
  })

  test('createRmaRoutes: health, an unknown receipt in OpenAI shape, other paths left to the next handler', async () => {
    const health = await fetch(`${served.url}/rma/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({
      ok: true,
      meter: meterWallet.address,
      assetId,
      chainId: String(chainId),
    })
    const missing = await fetch(`${served.url}/rma/receipts/nope`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({
      error: {
        message: 'No receipt nope.',
        type: 'invalid_request_error',
        code: 'rma_not_found',
        param: null,
      },
    })
    const list = await fetch(`${served.url}/rma/receipts?user=${user.address}`)
    expect(list.status).toBe(401)
    const metrics = await fetch(`${served.url}/rma/metrics`)
    expect(metrics.status).toBe(404)
  })
})
