import {
  decodeReceipt,
  hashReceipt,
  priceUsage,
  type SignedUsageReceipt,
  type Usage,
  verifyReceipt,
  verifyReceiptChain,
} from '@rma/core'
import type { ReceiptJSON } from '@rma/meter'
import { fakeUsage } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { keccak256 } from 'js-sha3'
import OpenAI, { type APIError } from 'openai'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  attestingFetch,
  createMeteredApp,
  type MeteredApp,
  prices,
} from './testing/createMeteredApp.js'

const reported: Usage = {
  inputTokens: fakeUsage.input,
  cachedInputTokens: fakeUsage.cached,
  outputTokens: fakeUsage.output,
  reasoningTokens: fakeUsage.reasoning,
}

let app: MeteredApp
let client: OpenAI
const user = Wallet.createRandom() as unknown as Wallet

beforeAll(async () => {
  app = await createMeteredApp({ store: createMemoryStore() })
  client = new OpenAI({
    baseURL: `${app.url}/v1`,
    apiKey: 'sk-app',
    fetch: attestingFetch(user),
    maxRetries: 0,
  })
})
afterAll(() => app.close())

async function receiptById(id: string | null): Promise<SignedUsageReceipt> {
  expect(id).toMatch(/^[0-9a-f-]{36}$/)
  // A stream's receipt is stored when the stream ends, a moment after the client saw [DONE].
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${app.url}/rma/receipts/${id}`)
    if (res.status === 200) return decodeReceipt(((await res.json()) as ReceiptJSON).encoded)
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`receipt ${id} never stored`)
}

function expectReceipt(receipt: SignedUsageReceipt, usage: Usage, model = 'gpt-4o-mini') {
  expect(verifyReceipt({ receipt, domain: app.meter.config.domain })).toBe(true)
  expect(receipt.meter).toBe(app.meterWallet.address.toLowerCase())
  expect(receipt.user).toBe(user.address.toLowerCase())
  expect({
    inputTokens: receipt.inputTokens,
    cachedInputTokens: receipt.cachedInputTokens,
    outputTokens: receipt.outputTokens,
    reasoningTokens: receipt.reasoningTokens,
  }).toEqual(usage)
  expect(receipt.amount).toBe(priceUsage(prices, model, usage))
}

describe('rmaMeter + openaiProxy with the openai SDK', () => {
  test('chat JSON: receipt header with the exact reported usage, bound to request and response bytes', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse()
    expect(data.choices[0]?.message.content).toBe('Hello there, how can I help?')
    const receipt = decodeReceipt(response.headers.get('rma-receipt'))
    expectReceipt(receipt, reported)
    expect(receipt.usageSource).toBe('reported')
    const sent = JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Hi' }],
    })
    expect(receipt.requestHash).toBe(`0x${keccak256(sent)}`)
    const upstreamBody = JSON.stringify(data)
    expect(receipt.responseHash).toBe(`0x${keccak256(upstreamBody)}`)
    expect(await receiptById(response.headers.get('rma-receipt-id'))).toEqual(receipt)
  })

  test('chat streaming without include_usage: usage reported via the added option, the client sees no usage chunk', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], stream: true })
      .withResponse()
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.every((c) => c.choices.length === 1 && !('usage' in c))).toBe(true)
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(
      'word0 word1 word2 word3 word4 word5 word6 word7 ',
    )
    expect(app.upstream.requests.at(-1)?.body.stream_options).toEqual({ include_usage: true })
    const receipt = await receiptById(response.headers.get('rma-receipt-id'))
    expectReceipt(receipt, reported)
    expect(receipt.usageSource).toBe('reported')
  })

  test('chat streaming with include_usage: the client gets its usage chunk and the receipt matches it', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse()
    let usage: OpenAI.CompletionUsage | null | undefined
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage
    expect(usage?.prompt_tokens).toBe(fakeUsage.input)
    expectReceipt(await receiptById(response.headers.get('rma-receipt-id')), reported)
  })

  test('streamed tool calls: arguments arrive whole and the receipt is reported', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              parameters: { type: 'object', properties: { city: { type: 'string' } } },
            },
          },
        ],
        stream: true,
      })
      .withResponse()
    let args = ''
    for await (const chunk of stream)
      args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? ''
    expect(JSON.parse(args)).toEqual({ city: 'Paris' })
    expectReceipt(await receiptById(response.headers.get('rma-receipt-id')), reported)
  })

  test('Responses API JSON: usage from response.usage', async () => {
    const { data, response } = await client.responses
      .create({ model: 'gpt-4o-mini', input: 'Hi' })
      .withResponse()
    expect(data.output_text).toBe('Hello there')
    expectReceipt(decodeReceipt(response.headers.get('rma-receipt')), reported)
  })

  test('Responses API streaming: usage from response.completed, nothing added to the request', async () => {
    const { data: stream, response } = await client.responses
      .create({ model: 'gpt-4o-mini', input: 'Hi', stream: true })
      .withResponse()
    const types: string[] = []
    for await (const event of stream) types.push(event.type)
    expect(types.at(-1)).toBe('response.completed')
    expect(app.upstream.requests.at(-1)?.body.stream_options).toBeUndefined()
    const receipt = await receiptById(response.headers.get('rma-receipt-id'))
    expectReceipt(receipt, reported)
    expect(receipt.usageSource).toBe('reported')
  })

  test('embeddings: input tokens only', async () => {
    const { response } = await client.embeddings
      .create({ model: 'text-embedding-3-small', input: 'Hello' })
      .withResponse()
    const usage = {
      inputTokens: fakeUsage.input,
      cachedInputTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
    }
    expectReceipt(
      decodeReceipt(response.headers.get('rma-receipt')),
      usage,
      'text-embedding-3-small',
    )
  })

  test('an aborted stream still yields a partial receipt, and the upstream call is cancelled', async () => {
    const cancelledBefore = app.upstream.cancelled
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'slow', messages: [{ role: 'user', content: 'Hi' }], stream: true })
      .withResponse()
    let seen = 0
    for await (const _ of stream) if (++seen === 3) break
    const receipt = await receiptById(response.headers.get('rma-receipt-id'))
    expect(receipt.usageSource).toBe('partial')
    expect(verifyReceipt({ receipt, domain: app.meter.config.domain })).toBe(true)
    expect(receipt.outputTokens).toBeGreaterThan(0)
    expect(receipt.outputTokens).toBeLessThan(12)
    for (let i = 0; i < 50 && app.upstream.cancelled === cancelledBefore; i++)
      await new Promise((r) => setTimeout(r, 20))
    expect(app.upstream.cancelled).toBe(cancelledBefore + 1)
  })

  test('upstream 429 and 500 reach the SDK as its typed errors, and no receipt is made', async () => {
    const before = (await app.store.listByUser({ user: user.address as `0x${string}` })).length
    const rateLimited = await client.chat.completions
      .create({ model: 'fail-429', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e)
    expect(rateLimited).toBeInstanceOf(OpenAI.RateLimitError)
    expect((rateLimited as APIError).code).toBe('rate_limit_exceeded')
    const failed = await client.chat.completions
      .create({ model: 'fail-500', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e)
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError)
    expect((failed as APIError).code).toBe('upstream_500')
    const streamFailed = await client.chat.completions
      .create({ model: 'fail-500', messages: [{ role: 'user', content: 'Hi' }], stream: true })
      .catch((e: unknown) => e)
    expect(streamFailed).toBeInstanceOf(OpenAI.InternalServerError)
    expect((await app.store.listByUser({ user: user.address as `0x${string}` })).length).toBe(
      before,
    )
  })

  test('invalid JSON from the upstream becomes a 502 and no receipt', async () => {
    const before = (await app.store.listByUser({ user: user.address as `0x${string}` })).length
    const error = await client.chat.completions
      .create({ model: 'bad-json', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as APIError).status).toBe(502)
    expect((error as APIError).code).toBe('upstream_invalid_json')
    expect((await app.store.listByUser({ user: user.address as `0x${string}` })).length).toBe(
      before,
    )
  })

  test('every receipt of this user forms one valid chain of the meter', async () => {
    const stored = await app.store.listByUser({ user: user.address as `0x${string}`, limit: 1000 })
    const receipts = stored.map((s) => s.receipt)
    const result = verifyReceiptChain(receipts, [app.meterWallet.address as `0x${string}`], {
      domain: app.meter.config.domain,
    })
    expect(result.issues).toEqual([])
    expect(result.chains).toHaveLength(1)
    expect(result.chains[0]?.count).toBe(receipts.length)
    expect(stored.map((s) => s.hash)).toEqual(
      receipts.map((r) => hashReceipt(r, app.meter.config.domain)),
    )
  })
})
