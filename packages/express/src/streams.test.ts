import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import {
  createPriceTable,
  type Hex,
  priceUsage,
  type SignedUsageReceipt,
  type Usage,
  verifyReceipt,
} from '@rma/core'
import { createFakeUpstream, type FakeUpstream, fakeUsage } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import express from 'express'
import OpenAI, { APIError } from 'openai'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { rmaMeter } from './rmaMeter.js'
import {
  assetId,
  attestingFetch,
  chainId,
  createMeteredApp,
  type MeteredApp,
  settlementContract,
} from './testing/createMeteredApp.js'

const price = { input: 150_000n, cachedInput: 75_000n, output: 600_000n, reasoning: 600_000n }
const prices = createPriceTable({
  models: Object.fromEntries(
    [
      'gpt-4o-mini',
      'slow',
      'pause-after-done',
      'never-answer',
      'reset-mid-stream',
      'stall-mid-stream',
      'fail-429',
    ].map((name) => [name, price]),
  ),
})
const reported: Usage = {
  inputTokens: fakeUsage.input,
  cachedInputTokens: fakeUsage.cached,
  outputTokens: fakeUsage.output,
  reasoningTokens: fakeUsage.reasoning,
}

let upstream: FakeUpstream
let app: MeteredApp
const user = Wallet.createRandom() as unknown as Wallet
const sdk = (url: string, extra: Record<string, string> = {}) =>
  new OpenAI({
    baseURL: `${url}/v1`,
    apiKey: 'sk-app',
    fetch: attestingFetch(user, extra),
    maxRetries: 0,
  })

beforeAll(async () => {
  upstream = await createFakeUpstream({ pauseAfterDoneMs: 1500 })
  app = await createMeteredApp({
    store: createMemoryStore(),
    upstream,
    meter: { prices },
    proxy: { firstByteTimeoutMs: 1500, idleTimeoutMs: 1000 },
  })
})
afterAll(async () => {
  await app.close()
  await upstream.close()
})

async function receiptsOf(app: MeteredApp): Promise<SignedUsageReceipt[]> {
  const stored = await app.store.listByUser({ user: user.address as Hex, limit: 10_000 })
  return stored.map((s) => s.receipt)
}

/** Waits until the proxy had time to settle whatever it would settle for calls just made. */
async function settle(app: MeteredApp) {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 20))
  return receiptsOf(app)
}

function usageOf(receipt: SignedUsageReceipt): Usage {
  return {
    inputTokens: receipt.inputTokens,
    cachedInputTokens: receipt.cachedInputTokens,
    outputTokens: receipt.outputTokens,
    reasoningTokens: receipt.reasoningTokens,
  }
}

describe('the [DONE]-then-cancel race', () => {
  test('20 SDK streams from an upstream that pauses after [DONE]: every receipt is reported with the exact usage', async () => {
    const client = sdk(app.url)
    const cancelledBefore = upstream.cancelled
    const ids = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const { data: stream, response } = await client.chat.completions
          .create({
            model: 'pause-after-done',
            messages: [{ role: 'user', content: `call ${i}` }],
            stream: true,
            // Half ask for usage themselves; for the other half the proxy adds and strips it.
            ...(i % 2 ? { stream_options: { include_usage: true } } : {}),
          })
          .withResponse()
        let text = ''
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
        expect(text).toBe('word0 word1 word2 word3 word4 word5 word6 word7 ')
        return response.headers.get('rma-receipt-id')!
      }),
    )
    // Every SDK iteration above ended at [DONE], while the upstream still held each connection
    // open: the meter delivered [DONE] only once the receipt was stored.
    for (const id of ids) {
      const stored = await app.store.get(id)
      expect(stored?.receipt.usageSource).toBe('reported')
      expect(usageOf(stored!.receipt)).toEqual(reported)
      expect(stored!.receipt.amount).toBe(priceUsage(prices, 'pause-after-done', reported))
      expect(verifyReceipt({ receipt: stored!.receipt, domain: app.meter.config.domain })).toBe(
        true,
      )
    }
    // The proxy stopped reading each paused upstream once its stream was delivered.
    for (let i = 0; i < 100 && upstream.cancelled < cancelledBefore + 20; i++)
      await new Promise((r) => setTimeout(r, 20))
    expect(upstream.cancelled).toBe(cancelledBefore + 20)
  })

  test('Responses API: the stream ends at response.completed with a reported receipt', async () => {
    const client = sdk(app.url)
    const { data: stream, response } = await client.responses
      .create({ model: 'pause-after-done', input: 'Hi', stream: true })
      .withResponse()
    const types: string[] = []
    for await (const event of stream) types.push(event.type)
    expect(types.at(-1)).toBe('response.completed')
    const stored = await app.store.get(response.headers.get('rma-receipt-id')!)
    expect(stored?.receipt.usageSource).toBe('reported')
    expect(usageOf(stored!.receipt)).toEqual(reported)
  })

  test('rma-receipt: inline: the receipt frame follows [DONE] before the upstream closes', async () => {
    const res = await attestingFetch(user, { 'rma-receipt': 'inline' })(
      `${app.url}/v1/chat/completions`,
      {
        method: 'POST',
        body: JSON.stringify({
          model: 'pause-after-done',
          messages: [{ role: 'user', content: 'Hi' }],
          stream: true,
        }),
      },
    )
    const text = await res.text()
    const [stream, frame] = text.split('event: rma.receipt\n')
    expect(stream?.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(frame).toContain(res.headers.get('rma-receipt-id'))
  })
})

describe('streams that delivered nothing are not charged', () => {
  test('an upstream that never answers, the client gives up: no receipt', async () => {
    const patient = await createMeteredApp({
      store: createMemoryStore(),
      upstream,
      meter: { prices },
    })
    try {
      const answeredBefore = upstream.requests.length
      const controller = new AbortController()
      const call = sdk(patient.url).chat.completions.create(
        { model: 'never-answer', messages: [{ role: 'user', content: 'Hi' }], stream: true },
        { signal: controller.signal },
      )
      // The request reached the upstream (with the provider's key): only then give up.
      while (upstream.requests.length === answeredBefore) await new Promise((r) => setTimeout(r, 5))
      controller.abort()
      await expect(call).rejects.toThrow()
      expect(await settle(patient)).toEqual([])
    } finally {
      await patient.close()
    }
  })

  test('an attested 8 MiB stream prompt aborted before the first byte: no partial receipt for its input', async () => {
    const before = (await receiptsOf(app)).length
    const requested = upstream.requests.length
    const controller = new AbortController()
    const call = sdk(app.url).chat.completions.create(
      {
        model: 'never-answer',
        messages: [{ role: 'user', content: 'lorem ipsum dolor '.repeat(466_000) }],
        stream: true,
      },
      { signal: controller.signal },
    )
    while (upstream.requests.length === requested) await new Promise((r) => setTimeout(r, 5))
    controller.abort()
    await expect(call).rejects.toThrow()
    expect(await settle(app)).toHaveLength(before)
  })

  test('an upstream that never answers within the first-byte timeout: a 504 the SDK raises, no receipt', async () => {
    const before = (await receiptsOf(app)).length
    const error = await sdk(app.url)
      .chat.completions.create({
        model: 'never-answer',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(APIError)
    expect((error as APIError).status).toBe(504)
    expect((error as APIError).code).toBe('upstream_timeout')
    expect(await settle(app)).toHaveLength(before)
  })

  test('the client leaves after the first chunk (role only): no receipt', async () => {
    const before = (await receiptsOf(app)).length
    const { data: stream } = await sdk(app.url)
      .chat.completions.create({
        model: 'slow',
        messages: [{ role: 'user', content: 'x'.repeat(100_000) }],
        stream: true,
      })
      .withResponse()
    for await (const chunk of stream) {
      expect(chunk.choices[0]?.delta?.content).toBe('')
      break
    }
    expect(await settle(app)).toHaveLength(before)
  })
})

describe('a stream cut short ends with an error the SDK raises, and is not charged', () => {
  for (const [model, code] of [
    ['reset-mid-stream', 'upstream_reset'],
    ['stall-mid-stream', 'upstream_timeout'],
  ] as const)
    test(`${model}: APIError ${code}, no [DONE], no receipt`, async () => {
      const before = (await receiptsOf(app)).length
      const { data: stream } = await sdk(app.url)
        .chat.completions.create({
          model,
          messages: [{ role: 'user', content: 'Hi' }],
          stream: true,
        })
        .withResponse()
      let text = ''
      const error = await (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
      })().catch((e: unknown) => e)
      expect(text).toBe('word0 word1 ')
      expect(error).toBeInstanceOf(APIError)
      expect((error as APIError).code).toBe(code)
      expect(await settle(app)).toHaveLength(before)
    })

  test('a handler that ends a stream without its terminator: the meter adds the error event', async () => {
    const store = createMemoryStore()
    const meter = rmaMeter({
      assetId,
      chainId,
      settlementContract,
      prices,
      store,
      signer: Wallet.createRandom(),
    })
    const bare = express()
    bare.use(meter)
    bare.post('/v1/chat/completions', (_req, res) => {
      res.setHeader('content-type', 'text/event-stream')
      res.write(
        'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}\n\n',
      )
      res.end()
    })
    const server = bare.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const stream = await sdk(url).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
      })
      const error = await (async () => {
        for await (const _ of stream);
      })().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(APIError)
      expect((error as APIError).code).toBe('rma_stream_incomplete')
      expect(await store.listByUser({ user: user.address as Hex })).toEqual([])
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})

describe('timeouts', () => {
  test('a stream longer than every timeout but never idle for one is delivered whole', async () => {
    const long = await createMeteredApp({
      store: createMemoryStore(),
      upstream: await createFakeUpstream({ chunks: 40 }),
      meter: { prices },
      proxy: { firstByteTimeoutMs: 300, idleTimeoutMs: 300 },
    })
    try {
      const { data: stream, response } = await sdk(long.url)
        .chat.completions.create({
          model: 'slow',
          messages: [{ role: 'user', content: 'Hi' }],
          stream: true,
        })
        .withResponse()
      let chunks = 0
      for await (const _ of stream) chunks++
      // 40 words at one per 20 ms: over 800 ms, well past both timeouts.
      expect(chunks).toBe(42)
      const stored = await long.store.get(response.headers.get('rma-receipt-id')!)
      expect(stored?.receipt.usageSource).toBe('reported')
    } finally {
      await long.close()
      await long.upstream.close()
    }
  })

  test('an upstream that refuses the connection: 502 upstream_unreachable, no receipt', async () => {
    const refused = await createMeteredApp({
      store: createMemoryStore(),
      upstream,
      meter: { prices },
      proxy: { upstream: 'http://127.0.0.1:9/v1', connectTimeoutMs: 200 },
    })
    try {
      const error = await sdk(refused.url)
        .chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'Hi' }],
        })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(APIError)
      expect((error as APIError).status).toBe(502)
      expect((error as APIError).code).toBe('upstream_unreachable')
      expect(await refused.store.listByUser({ user: user.address as Hex })).toEqual([])
    } finally {
      await refused.close()
    }
  })
})

describe('an upstream 429', () => {
  test('retry-after and x-ratelimit-* reach the client with the error, and no receipt is made', async () => {
    const before = (await receiptsOf(app)).length
    const error = await sdk(app.url)
      .chat.completions.create({ model: 'fail-429', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(APIError)
    const headers = (error as APIError).headers!
    expect((error as APIError).status).toBe(429)
    expect(headers.get('retry-after')).toBe('7')
    expect(headers.get('x-ratelimit-remaining-requests')).toBe('0')
    expect(headers.get('x-ratelimit-reset-requests')).toBe('7s')
    expect(await settle(app)).toHaveLength(before)
  })
})
