import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { type AppendReceiptParameters, BaseError, type Hex } from '@rma/core'
import { createFakeUpstream, type FakeUpstream } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import express from 'express'
import OpenAI, { APIError } from 'openai'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { rmaMeter } from './rmaMeter.js'
import { rmaRouter } from './rmaRouter.js'
import {
  assetId,
  attestingFetch,
  chainId,
  createMeteredApp,
  type MeteredApp,
  prices,
  settlementContract,
} from './testing/createMeteredApp.js'

/**
 * A memory store that can be made to fail: `writable: false` makes `checkWritable` and `append`
 * reject as a store that lost its disk or database does; `appends: false` fails appends only
 * (the store broke after the check before forwarding).
 */
function createBreakableStore() {
  const store = createMemoryStore()
  const state = { writable: true, appends: true, appended: 0 }
  const unavailable = () => new BaseError('The store cannot write.', { code: 'STORE_UNAVAILABLE' })
  return Object.assign(
    {
      ...store,
      checkWritable: () => (state.writable ? store.checkWritable() : Promise.reject(unavailable())),
      append: async (parameters: AppendReceiptParameters) => {
        if (!state.writable || !state.appends) throw unavailable()
        const stored = await store.append(parameters)
        state.appended++
        return stored
      },
    },
    { state },
  )
}

let upstream: FakeUpstream
let store: ReturnType<typeof createBreakableStore>
let app: MeteredApp
let client: OpenAI
const user = Wallet.createRandom() as unknown as Wallet
const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Hi' }] }

beforeAll(async () => {
  upstream = await createFakeUpstream()
  store = createBreakableStore()
  app = await createMeteredApp({ store, upstream })
  client = new OpenAI({
    baseURL: `${app.url}/v1`,
    apiKey: 'sk-app',
    fetch: attestingFetch(user),
    maxRetries: 0,
  })
})
afterAll(async () => {
  await app.close()
  await upstream.close()
})

async function receiptCount() {
  return (await app.store.listByUser({ user: user.address as Hex, limit: 10_000 })).length
}

function withStore<T>(change: Partial<typeof store.state>, run: () => Promise<T>): Promise<T> {
  const saved = { ...store.state }
  Object.assign(store.state, change)
  return run().finally(() => {
    store.state.writable = saved.writable
    store.state.appends = saved.appends
  })
}

describe('a store that cannot write: nothing is forwarded', () => {
  for (const stream of [false, true])
    test(`${stream ? 'stream' : 'JSON'}: 503 rma_store_unavailable, the upstream never called`, async () => {
      const forwarded = upstream.requests.length
      const error = await withStore({ writable: false }, () =>
        client.chat.completions.create({ ...chat, stream }).then(
          () => undefined,
          (e: unknown) => e,
        ),
      )
      expect(error).toBeInstanceOf(APIError)
      expect((error as APIError).status).toBe(503)
      expect((error as APIError).code).toBe('rma_store_unavailable')
      expect(upstream.requests.length).toBe(forwarded)
    })

  test('/rma/health answers 503 with ok: false, and 200 again once the store writes', async () => {
    const down = await withStore({ writable: false }, () => fetch(`${app.url}/rma/health`))
    expect(down.status).toBe(503)
    expect(await down.json()).toMatchObject({
      ok: false,
      meter: app.meterWallet.address,
      error: { type: 'server_error', code: 'rma_store_unavailable', param: null },
    })
    const up = await fetch(`${app.url}/rma/health`)
    expect(up.status).toBe(200)
    expect(await up.json()).toMatchObject({ ok: true })
  })
})

describe('a store that fails once the upstream answered: no body without a receipt', () => {
  test('JSON: the answer is withheld as a 503 the SDK raises, without any receipt header', async () => {
    const before = await receiptCount()
    const outcome = await withStore({ appends: false }, () =>
      client.chat.completions
        .create(chat)
        .withResponse()
        .then(
          () => undefined,
          (e: unknown) => e,
        ),
    )
    expect(outcome).toBeInstanceOf(APIError)
    const error = outcome as APIError
    expect(error.status).toBe(503)
    expect(error.code).toBe('rma_store_unavailable')
    expect(error.headers?.get('rma-receipt')).toBeNull()
    expect(error.headers?.get('rma-receipt-status')).toBeNull()
    expect(JSON.stringify(error.error)).not.toContain('Hello there')
    expect(await receiptCount()).toBe(before)
  })

  test('stream: the SDK raises an APIError where [DONE] would have been; the client never sees [DONE]', async () => {
    const before = await receiptCount()
    const { text, error } = await withStore({ appends: false }, async () => {
      const stream = await client.chat.completions.create({ ...chat, stream: true })
      let text = ''
      const error = await (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
      })().catch((e: unknown) => e)
      return { text, error }
    })
    expect(error).toBeInstanceOf(APIError)
    expect((error as APIError).code).toBe('rma_store_unavailable')
    // The text streamed before usage was known reached the client; the call did not complete.
    expect(text).toBe('word0 word1 word2 word3 word4 word5 word6 word7 ')
    expect(await receiptCount()).toBe(before)

    const raw = await withStore({ appends: false }, async () => {
      const res = await attestingFetch(user, { 'rma-receipt': 'inline' })(
        `${app.url}/v1/chat/completions`,
        { method: 'POST', body: JSON.stringify({ ...chat, stream: true }) },
      )
      return res.text()
    })
    expect(raw).not.toContain('[DONE]')
    expect(raw).not.toContain('rma.receipt')
    expect(raw).toContain('event: error\ndata: {"error":{')
    expect(await receiptCount()).toBe(before)
  })

  test('Responses API stream: response.completed is withheld and the SDK raises', async () => {
    const error = await withStore({ appends: false }, async () => {
      const stream = await client.responses.create({
        model: 'gpt-4o-mini',
        input: 'Hi',
        stream: true,
      })
      const types: string[] = []
      const error = await (async () => {
        for await (const event of stream) types.push(event.type)
      })().catch((e: unknown) => e)
      expect(types).not.toContain('response.completed')
      return error
    })
    expect(error).toBeInstanceOf(APIError)
    expect((error as APIError).code).toBe('rma_store_unavailable')
  })

  test('calls after the store recovers are served and charged again', async () => {
    const before = await receiptCount()
    const { response } = await client.chat.completions.create(chat).withResponse()
    expect(response.headers.get('rma-receipt')).toBeTruthy()
    expect(await receiptCount()).toBe(before + 1)
  })
})

describe('a metered route that answers with something the meter cannot read', () => {
  test('a 200 body that is not JSON is not delivered: 502 rma_unmetered_body', async () => {
    const meter = rmaMeter({
      assetId,
      chainId,
      settlementContract,
      prices,
      store: createMemoryStore(),
      signer: Wallet.createRandom(),
    })
    const bare = express()
    bare.use(meter)
    bare.use(rmaRouter({ meter }))
    bare.post('/v1/chat/completions', (_req, res) => {
      res.type('text/plain').send('Hello there, unmetered')
    })
    const server = bare.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const res = await attestingFetch(user)(`${url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify(chat),
      })
      expect(res.status).toBe(502)
      const text = await res.text()
      expect(text).not.toContain('Hello there')
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'rma_unmetered_body' } })
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})
