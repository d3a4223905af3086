import { createAnthropic } from '@ai-sdk/anthropic'
import { createOpenAI } from '@ai-sdk/openai'
import { decodeReceipt, encodeReceipt, priceUsage } from '@rma/core'
import { createMeteredApp, fakeUsage, type MeteredApp } from '@rma/express/testing'
import { APICallError, generateText, streamText } from 'ai'
import { Wallet } from 'ethers'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { createRmaFetch, type RmaFetch } from './createRmaFetch.js'
import { PriceMismatchError, ReceiptSignatureError } from './errors.js'
import { createTamperProxy, type Tamper } from './testing/createTamperProxy.js'
import { clientOptions, createUser, prices } from './testing/createTestClient.js'
import { forgeReceipt, replaceInlineReceipt } from './testing/forgeReceipt.js'
import { rewriteReceiptHeader } from './testing/rewriteReceiptHeader.js'
import {
  type AnthropicApp,
  anthropicBilled,
  anthropicPrices,
  createTempSqliteStore,
  startAnthropicApp,
} from './testing/startAnthropicApp.js'

/** Generous: real servers and signatures on a shared, loaded 2-core machine. */
const timeout = 60_000

// The Vercel AI SDK recipe: `createOpenAI` / `createAnthropic` take a `fetch`; hand them the RMA
// fetch and every call is attested, its receipt checked and kept in `rmaFetch.rma.ledger`.

const meterKey = Wallet.createRandom().privateKey
let openaiApp: MeteredApp
let removeStore: () => Promise<void>
let anthropicApp: AnthropicApp
const closers: (() => Promise<void>)[] = []
beforeAll(async () => {
  const sqlite = createTempSqliteStore()
  removeStore = sqlite.remove
  openaiApp = await createMeteredApp({ store: sqlite.store, meterKey })
  anthropicApp = await startAnthropicApp({ meterKey })
}, timeout)
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
}, timeout)
afterAll(async () => {
  await openaiApp.close()
  await removeStore()
  await anthropicApp.close()
}, timeout)

/** What the fake OpenAI upstream reports for every call, in receipt fields. */
const openaiBilled = {
  inputTokens: fakeUsage.input,
  cachedInputTokens: fakeUsage.cached,
  cacheWriteTokens: 0,
  outputTokens: fakeUsage.output,
  reasoningTokens: fakeUsage.reasoning,
}

function openaiProvider(url = openaiApp.url) {
  const rmaFetch = createRmaFetch(clientOptions(openaiApp, createUser()))
  const openai = createOpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', fetch: rmaFetch })
  return { rmaFetch, openai }
}

function anthropicProvider(url = anthropicApp.url) {
  const rmaFetch = createRmaFetch(
    clientOptions(anthropicApp, createUser(), { prices: anthropicPrices }),
  )
  const anthropic = createAnthropic({ baseURL: `${url}/v1`, apiKey: 'unused', fetch: rmaFetch })
  return { rmaFetch, anthropic }
}

/** Every call produced one verified receipt, each charging `amount` for `usage`. */
async function expectReceipts(
  rmaFetch: RmaFetch,
  calls: number,
  usage: Record<keyof typeof openaiBilled, number>,
  amount: bigint,
) {
  await rmaFetch.rma.settled()
  const records = rmaFetch.rma.ledger.list()
  expect(records).toHaveLength(calls)
  for (const record of records) {
    expect(record.checks).toEqual({ usage: 'matched', response: 'matched', price: 'matched' })
    expect(record.receipt).toMatchObject({ ...usage, usageSource: 'reported', amount })
  }
  expect(rmaFetch.rma.ledger.rejected()).toEqual([])
  expect(rmaFetch.rma.ledger.totals().all.amount).toBe(amount * BigInt(calls))
}

const words = 'word0 word1 word2 word3 word4 word5 word6 word7 '

describe('Vercel AI SDK + @ai-sdk/openai with the RMA fetch', { timeout }, () => {
  const amount = priceUsage(prices, 'gpt-4o-mini', openaiBilled)

  test('generateText and streamText on Chat Completions: the text, and one verified receipt per call', async () => {
    const { rmaFetch, openai } = openaiProvider()
    const generated = await generateText({
      model: openai.chat('gpt-4o-mini'),
      prompt: 'Hi',
      maxRetries: 0,
    })
    expect(generated.text).toBe('Hello there, how can I help?')
    expect(generated.usage).toMatchObject({ inputTokens: 1200, outputTokens: 48 })
    const streamed = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'Hi', maxRetries: 0 })
    expect(await streamed.text).toBe(words)
    // The AI SDK asks for the usage chunk itself (stream_options.include_usage).
    expect(openaiApp.upstream.requests.at(-1)?.body.stream_options).toEqual({ include_usage: true })
    // (1,200 − 1,024) × 0.15 + 1,024 × 0.075 + (48 − 16) × 0.60 + 16 × 0.60 per 1M, rounded up.
    expect(amount).toBe(132n)
    await expectReceipts(rmaFetch, 2, openaiBilled, amount)
  })

  test('generateText and streamText on the Responses API (the provider’s default model)', async () => {
    const { rmaFetch, openai } = openaiProvider()
    const generated = await generateText({
      model: openai('gpt-4o-mini'),
      prompt: 'Hi',
      maxRetries: 0,
    })
    expect(generated.text).toBe('Hello there')
    const streamed = streamText({ model: openai('gpt-4o-mini'), prompt: 'Hi', maxRetries: 0 })
    expect(await streamed.text).toBe(words)
    expect(openaiApp.upstream.requests.at(-1)?.path).toBe('/v1/responses')
    await expectReceipts(rmaFetch, 2, openaiBilled, amount)
  })
})

describe('Vercel AI SDK + @ai-sdk/anthropic with the RMA fetch', { timeout }, () => {
  test('generateText and streamText: the text, the AI SDK’s usage equal to the receipt’s, cache reads and writes billed exactly', async () => {
    const { rmaFetch, anthropic } = anthropicProvider()
    const generated = await generateText({
      model: anthropic('claude-sonnet-4-5'),
      prompt: 'Hi',
      maxOutputTokens: 1024,
      maxRetries: 0,
    })
    expect(generated.text).toBe('Hello wörld 🚀')
    // The AI SDK counts Anthropic's input as the receipt does: cache reads and writes included.
    expect(generated.usage).toMatchObject({
      inputTokens: anthropicBilled.inputTokens,
      inputTokenDetails: { noCacheTokens: 3, cacheReadTokens: 1000, cacheWriteTokens: 2044 },
      outputTokens: anthropicBilled.outputTokens,
    })
    const streamed = streamText({
      model: anthropic('claude-sonnet-4-5'),
      prompt: 'Hi',
      maxOutputTokens: 1024,
      maxRetries: 0,
    })
    expect(await streamed.text).toBe('Hello wörld 🚀')
    expect((await streamed.usage).inputTokens).toBe(anthropicBilled.inputTokens)
    expect(anthropicApp.anthropic.requests.at(-1)?.body).toMatchObject({
      max_tokens: 1024,
      stream: true,
    })
    // 3 × 3.00 + 1,000 × 0.30 + 2,044 × 3.75 + 89 × 15.00 per 1M, rounded up.
    await expectReceipts(rmaFetch, 2, anthropicBilled, 9309n)
  })
})

describe('a dishonest meter fails the AI SDK call, and nothing is kept', { timeout }, () => {
  const domain = () => openaiApp.meter.config.domain
  const meter = () => new Wallet(meterKey)

  async function hostile(target: string, tamper: Tamper) {
    const proxy = await createTamperProxy(target, tamper)
    closers.push(proxy.close)
    return proxy.url
  }

  test('an over-priced receipt (signed by the meter): generateText rejects with PRICE_MISMATCH', async () => {
    const url = await hostile(openaiApp.url, {
      json: rewriteReceiptHeader((encoded) =>
        forgeReceipt(encoded, { amount: 10_000n, cumulativeAmount: 10_000n }, meter(), domain()),
      ),
    })
    const { rmaFetch, openai } = openaiProvider(url)
    const error = await generateText({
      model: openai.chat('gpt-4o-mini'),
      prompt: 'Hi',
      maxRetries: 0,
    }).catch((e: unknown) => e)
    // The AI SDK's APICallError ("Failed to process successful response"), caused by the refusal.
    expect(APICallError.isInstance(error)).toBe(true)
    const refused = (error as Error).cause
    expect(refused).toBeInstanceOf(PriceMismatchError)
    expect((refused as PriceMismatchError).shortMessage).toBe(
      'The receipt charges 10000, the price table says 132.',
    )
    expect(rmaFetch.rma.ledger.list()).toEqual([])
    expect(rmaFetch.rma.ledger.rejected().map((r) => r.code)).toEqual(['PRICE_MISMATCH'])
  })

  test('a tampered receipt in an Anthropic stream (cache writes dropped, signature kept): streamText fails with RECEIPT_SIGNATURE_INVALID', async () => {
    const url = await hostile(anthropicApp.url, {
      stream: ({ text }) =>
        replaceInlineReceipt(text, (encoded) => {
          const receipt = decodeReceipt(encoded)
          return encodeReceipt({ ...receipt, cacheWriteTokens: 0 })
        }),
    })
    const { rmaFetch, anthropic } = anthropicProvider(url)
    const streamed = streamText({
      model: anthropic('claude-sonnet-4-5'),
      prompt: 'Hi',
      maxOutputTokens: 1024,
      maxRetries: 0,
      // The refusal reaches the caller through `text` below, not the console.
      onError: () => undefined,
    })
    // The text promise rejects at the stream's end: nothing after the receipt frame is released.
    const error = await Promise.resolve(streamed.text).catch((e: unknown) => e)
    expect(APICallError.isInstance(error)).toBe(true)
    const refused = (error as Error).cause
    expect(refused).toBeInstanceOf(ReceiptSignatureError)
    expect((refused as ReceiptSignatureError).code).toBe('RECEIPT_SIGNATURE_INVALID')
    await rmaFetch.rma.settled()
    expect(rmaFetch.rma.ledger.list()).toEqual([])
    expect(rmaFetch.rma.ledger.rejected().map((r) => r.code)).toEqual(['RECEIPT_SIGNATURE_INVALID'])
  })
})
