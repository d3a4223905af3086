import Anthropic from '@anthropic-ai/sdk'
import { priceCall, verifyReceipt } from '@rma/core'
import {
  createFakeAnthropicUpstream,
  createMeteredApp,
  type FakeAnthropicUpstream,
  fakeAnthropicBilled,
  fakeAnthropicMessage,
  fakeAnthropicModel,
  fakeAnthropicPrices,
  fakeAnthropicStream,
  fakeAnthropicUsage,
  type MeteredApp,
} from '@rma/express/testing'
import { createMemoryStore } from '@rma/store'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createRmaFetch } from './createRmaFetch.js'
import { getReceipt } from './getReceipt.js'
import { clientOptions, createUser } from './testing/createTestClient.js'

const prices = fakeAnthropicPrices
/** What Anthropic billed, in the receipt's OpenAI semantics. */
const billed = fakeAnthropicBilled

let upstream: FakeAnthropicUpstream
let app: MeteredApp
beforeAll(async () => {
  upstream = await createFakeAnthropicUpstream()
  app = await createMeteredApp({
    store: createMemoryStore(),
    meter: { prices },
    proxy: { upstream: `${upstream.url}/v1` },
  })
})
afterAll(async () => {
  await app.close()
  await upstream.close()
})

function claude(overrides: Parameters<typeof clientOptions>[2] = {}) {
  const user = createUser()
  const fetch = createRmaFetch(clientOptions(app, user, { prices, ...overrides }))
  return {
    user,
    anthropic: new Anthropic({ baseURL: app.url, apiKey: 'unused', fetch, maxRetries: 0 }),
  }
}

const request = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  system: [
    { type: 'text' as const, text: 'Be brief.', cache_control: { type: 'ephemeral' as const } },
  ],
  messages: [{ role: 'user' as const, content: 'Hello' }],
}

describe('Anthropic Messages through the meter, with the official @anthropic-ai/sdk', () => {
  test('JSON: the SDK object is the upstream body; the receipt bills cache reads and writes exactly', async () => {
    const { user, anthropic } = claude()
    const { data: message, response } = await anthropic.messages.create(request).withResponse()
    expect(message).toEqual(fakeAnthropicMessage())
    // The provider's key went upstream as Anthropic wants it; the caller's never did.
    const sent = upstream.requests.at(-1)
    expect(sent?.headers['x-api-key']).toBe('sk-upstream')
    expect(sent?.headers.authorization).toBeUndefined()
    expect(sent?.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    const record = await getReceipt(response)
    expect(record.checks).toEqual({ usage: 'matched', response: 'matched', price: 'matched' })
    expect(record.receipt).toMatchObject({
      ...billed,
      model: fakeAnthropicModel,
      usageSource: 'reported',
      user: user.address.toLowerCase(),
    })
    // 3 uncached at 3.00, 1,000 read at 0.30, 2,044 written at 3.75, 89 out at 15.00 per 1M
    // units: (9,000,000 + 300,000,000 + 7,665,000,000 + 1,335,000,000) / 1,000,000.
    expect(record.receipt.amount).toBe(9309n)
    expect(
      priceCall({
        prices,
        model: fakeAnthropicModel,
        requestedModel: request.model,
        usage: billed,
        at: record.receipt.timestamp,
      }).amount,
    ).toBe(9309n)
    expect(verifyReceipt({ receipt: record.receipt, domain: app.meter.config.domain })).toBe(true)
  })

  test('a stream: every event as Anthropic sent it, the receipt frame stripped, usage from message_start + message_delta', async () => {
    const { anthropic } = claude()
    const { data: stream, response } = await anthropic.messages
      .create({ ...request, stream: true })
      .withResponse()
    const events: unknown[] = []
    for await (const event of stream) events.push(event)
    const sent = fakeAnthropicStream()
      .split('\n\n')
      .filter((frame) => frame !== '')
      .map((frame) => JSON.parse(frame.slice(frame.indexOf('data: ') + 6)))
    // The SDK skips `ping` events; every other event arrives unchanged, in order.
    expect(events).toEqual(sent.filter((event) => event.type !== 'ping'))
    const record = await getReceipt(response)
    expect(record.checks).toEqual({ usage: 'matched', response: 'matched', price: 'matched' })
    expect(record.receipt).toMatchObject({
      ...billed,
      model: fakeAnthropicModel,
      usageSource: 'reported',
    })
  })

  test('the MessageStream helper (.stream()) gets the final message with the billed usage', async () => {
    const { anthropic } = claude()
    const stream = anthropic.messages.stream(request)
    const final = await stream.finalMessage()
    expect(final.usage.output_tokens).toBe(fakeAnthropicUsage.output_tokens)
    expect(final.usage.cache_read_input_tokens).toBe(fakeAnthropicUsage.cache_read_input_tokens)
    const record = await getReceipt(await stream.withResponse().then((r) => r.response))
    expect(record.receipt).toMatchObject(billed)
  })

  test('worst case from max_tokens: a cap below it is refused (402) before anything goes upstream', async () => {
    const requests = upstream.requests.length
    const { anthropic } = claude({ maxAmountPerCall: 1000n })
    const error = await anthropic.messages.create(request).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Anthropic.APIError)
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(402)
    expect(JSON.stringify((error as InstanceType<typeof Anthropic.APIError>).error)).toContain(
      'rma_insufficient_max_amount',
    )
    expect(upstream.requests.length).toBe(requests)
  })

  test('a request without max_tokens is refused (400 rma_max_tokens_required): no default bound applies', async () => {
    const requests = upstream.requests.length
    const { anthropic } = claude()
    const { max_tokens: _, ...unbounded } = request
    const error = await anthropic.messages
      .create(unbounded as typeof request)
      .catch((e: unknown) => e)
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(400)
    expect(JSON.stringify((error as InstanceType<typeof Anthropic.APIError>).error)).toContain(
      'rma_max_tokens_required',
    )
    expect(upstream.requests.length).toBe(requests)
  })
})
