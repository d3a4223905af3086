import { decodeReceipt, type Hex, verifyReceipt } from '@rma/core'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createMeter } from './createMeter.js'
import { createOpenAIProxy } from './createOpenAIProxy.js'
import type { Meter } from './Meter.js'
import { attestingFetch } from './testing/attestingFetch.js'
import {
  createFakeAnthropicUpstream,
  type FakeAnthropicUpstream,
  fakeAnthropicBilled,
  fakeAnthropicPrices,
} from './testing/createFakeAnthropicUpstream.js'
import { type ServedFetch, serveFetch } from './testing/serveFetch.js'
import { assetId, chainId, settlementContract } from './testing/testAsset.js'

const prices = fakeAnthropicPrices
const billed = fakeAnthropicBilled

let upstream: FakeAnthropicUpstream
let meter: Meter
let served: ServedFetch
const user = Wallet.createRandom() as unknown as Wallet
const store = createMemoryStore()

beforeAll(async () => {
  upstream = await createFakeAnthropicUpstream()
  meter = createMeter({
    assetId,
    chainId,
    settlementContract,
    prices,
    store,
    signer: Wallet.createRandom() as unknown as Wallet,
  })
  const proxy = createOpenAIProxy({ upstream: `${upstream.url}/v1`, apiKey: 'sk-upstream' })
  served = await serveFetch((request, { signal }) => meter.fetch(request, proxy, { signal }))
})
afterAll(async () => {
  await served.close()
  await upstream.close()
})

const message = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  messages: [{ role: 'user', content: 'Hi' }],
}

describe('meter.fetch + createOpenAIProxy: Anthropic Messages', () => {
  test('JSON: the provider key goes as x-api-key, the receipt bills cache reads and writes as Anthropic did', async () => {
    const res = await attestingFetch(user, { 'anthropic-version': '2023-06-01' })(
      `${served.url}/v1/messages`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
      },
    )
    expect(res.status).toBe(200)
    expect(((await res.json()) as { type: string }).type).toBe('message')
    const receipt = decodeReceipt(res.headers.get('rma-receipt'))
    expect(verifyReceipt({ receipt, domain: meter.config.domain })).toBe(true)
    expect(receipt).toMatchObject({ ...billed, usageSource: 'reported' })
    const sent = upstream.requests.at(-1)!
    expect(sent.headers['x-api-key']).toBe('sk-upstream')
    expect(sent.headers.authorization).toBeUndefined()
    expect(sent.headers['anthropic-version']).toBe('2023-06-01')
  })

  test('SSE: message_stop is held until the receipt is stored; the stored receipt bills the usage of message_start and message_delta', async () => {
    const res = await attestingFetch(user, {
      'rma-receipt': 'inline',
      'anthropic-version': '2023-06-01',
    })(`${served.url}/v1/messages`, {
      method: 'POST',
      body: JSON.stringify({ ...message, stream: true }),
    })
    const text = await res.text()
    const stop = text.indexOf('event: message_stop')
    const frame = text.indexOf('event: rma.receipt')
    expect(stop).toBeGreaterThan(0)
    expect(frame).toBeGreaterThan(stop)
    const id = res.headers.get('rma-receipt-id')!
    const stored = await store.get(id)
    expect(stored?.receipt).toMatchObject({ ...billed, usageSource: 'reported' })
    expect(
      (await store.listByUser({ user: user.address as Hex, limit: 10 })).map((r) => r.receipt.seq),
    ).toEqual([1, 2])
  })
})
