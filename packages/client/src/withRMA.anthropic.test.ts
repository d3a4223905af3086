import Anthropic from '@anthropic-ai/sdk'
import { createPriceTable, decodeReceipt, encodeReceipt, verifyReceipt } from '@rma/core'
import { fakeAnthropicModel, fakeAnthropicStream, fakeAnthropicUsage } from '@rma/express/testing'
import { Wallet } from 'ethers'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import {
  PriceMismatchError,
  PriceTableMismatchError,
  type ReceiptError,
  ReceiptSignatureError,
  UsageMismatchError,
} from './errors.js'
import { getReceipt } from './getReceipt.js'
import { getRMA } from './getRMA.js'
import { createTamperProxy, type Tamper } from './testing/createTamperProxy.js'
import { clientOptions, createUser } from './testing/createTestClient.js'
import { forgeReceipt, replaceInlineReceipt } from './testing/forgeReceipt.js'
import { rewriteReceiptHeader } from './testing/rewriteReceiptHeader.js'
import {
  type AnthropicApp,
  anthropicBilled,
  anthropicPrices,
  anthropicRequest as request,
  startAnthropicApp,
} from './testing/startAnthropicApp.js'
import { withRMA } from './withRMA.js'

/** Generous: real servers and signatures on a shared, loaded 2-core machine. */
const timeout = 60_000

const meterKey = Wallet.createRandom().privateKey
let app: AnthropicApp
const closers: (() => Promise<void>)[] = []
beforeAll(async () => {
  app = await startAnthropicApp({ meterKey })
}, timeout)
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
}, timeout)
afterAll(() => app.close(), timeout)

/** The official SDK straight to the fake Anthropic API: what the wrapper must not change. */
const direct = () =>
  new Anthropic({
    baseURL: app.anthropic.url,
    apiKey: null,
    defaultHeaders: { 'x-api-key': 'sk-upstream' },
    maxRetries: 0,
  })

/** The official SDK wrapped by withRMA, through the metered app (or a proxy in front of it). */
function wrapped(url = app.url, overrides: Parameters<typeof clientOptions>[2] = {}) {
  const user = createUser()
  const claude = withRMA(
    new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0 }),
    clientOptions(app, user, { prices: anthropicPrices, ...overrides }),
  )
  return { user, claude }
}

/**
 * The amount Anthropic's reported usage costs, recomputed from the raw counts: uncached input
 * at `input`, cache reads at `cachedInput`, cache writes at `cacheWrite`, output at `output`,
 * per 1M tokens, rounded up once.
 */
function billedAmount(price: {
  input: bigint
  cachedInput: bigint
  cacheWrite: bigint
  output: bigint
}): bigint {
  const u = fakeAnthropicUsage
  const exact =
    BigInt(u.input_tokens) * price.input +
    BigInt(u.cache_read_input_tokens) * price.cachedInput +
    BigInt(u.cache_creation_input_tokens) * price.cacheWrite +
    BigInt(u.output_tokens) * price.output
  return (exact + 999_999n) / 1_000_000n
}

const sonnet = {
  input: 3_000_000n,
  cachedInput: 300_000n,
  cacheWrite: 3_750_000n,
  output: 15_000_000n,
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of iterable) out.push(item)
  return out
}

describe('withRMA(new Anthropic()): the official SDK, attested and checked', { timeout }, () => {
  test('messages.create: the Message deep-equals the unwrapped SDK’s; the receipt bills what Anthropic reported', async () => {
    const { user, claude } = wrapped()
    const expected = await direct().messages.create(request)
    const { data, response } = await claude.messages.create(request).withResponse()
    expect(data).toEqual(expected)
    const record = await getReceipt(response)
    expect(record.checks).toEqual({ usage: 'matched', response: 'matched', price: 'matched' })
    expect(record.receipt).toMatchObject({
      ...anthropicBilled,
      model: fakeAnthropicModel,
      usageSource: 'reported',
      user: user.address.toLowerCase(),
    })
    // 3 + 1,000 + 2,044 = 3,047 input tokens of which 1,000 read and 2,044 written.
    expect(record.receipt.inputTokens).toBe(3047)
    expect(record.receipt.amount).toBe(billedAmount(sonnet))
    expect(record.receipt.amount).toBe(9309n)
    expect(verifyReceipt({ receipt: record.receipt, domain: app.meter.config.domain })).toBe(true)
    // Kept in the ledger, on the RMA side of the client.
    expect(claude.rma.ledger.list().map((r) => r.hash)).toEqual([record.hash])
    expect(claude.rma.ledger.totals().all).toMatchObject({ calls: 1, amount: 9309n })
    // And stored durably by the meter, in its SQLite file.
    const stored = await app.store.get(record.id)
    expect(stored?.hash).toBe(record.hash)
    expect(stored?.receipt.amount).toBe(9309n)
  })

  test('create({ stream: true }): every event equal to the unwrapped SDK’s; the stream keeps tee(), toReadableStream() and controller', async () => {
    const { claude } = wrapped()
    const expected = await collect(await direct().messages.create({ ...request, stream: true }))
    const { data: stream, response } = await claude.messages
      .create({ ...request, stream: true })
      .withResponse()
    expect(stream.controller).toBeInstanceOf(AbortController)
    expect(typeof stream.toReadableStream).toBe('function')
    const [left, right] = stream.tee()
    const [a, b] = await Promise.all([collect(left), collect(right)])
    expect(a).toEqual(expected)
    expect(b).toEqual(expected)
    expect(expected.map((event) => event.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
    const record = await getReceipt(response)
    expect(record.checks).toEqual({ usage: 'matched', response: 'matched', price: 'matched' })
    expect(record.receipt).toMatchObject({ ...anthropicBilled, usageSource: 'reported' })
    expect(record.receipt.amount).toBe(billedAmount(sonnet))
  })

  test('.asResponse() of a stream: the bytes Anthropic sent, exactly, with the receipt frame removed', async () => {
    const { claude } = wrapped()
    const response = await claude.messages.create({ ...request, stream: true }).asResponse()
    expect(await response.text()).toBe(fakeAnthropicStream())
    const record = await getReceipt(response)
    expect(record.receipt).toMatchObject(anthropicBilled)
  })

  test('messages.stream(): the same events and an equal finalMessage(); its receipt billed exactly', async () => {
    const { claude } = wrapped()
    const reference = direct().messages.stream(request)
    const expectedEvents = await collect(reference)
    const expectedFinal = await reference.finalMessage()
    const stream = claude.messages.stream(request)
    const events = await collect(stream)
    expect(events).toEqual(expectedEvents)
    const final = await stream.finalMessage()
    expect(final).toEqual(expectedFinal)
    // The SDK's accumulated usage (message_start's, updated by message_delta's) is what was billed.
    expect(final.usage).toEqual(fakeAnthropicUsage)
    const { response } = await stream.withResponse()
    const record = await getReceipt(response)
    expect(record.receipt).toMatchObject(anthropicBilled)
    expect(record.receipt.amount).toBe(billedAmount(sonnet))
  })

  test('getRMA finds the RMA side on derived clients; the original client is not modified', async () => {
    const original = new Anthropic({ baseURL: app.url, apiKey: 'unused', maxRetries: 0 })
    const claude = withRMA(original, clientOptions(app, createUser(), { prices: anthropicPrices }))
    expect(getRMA(original)).toBeUndefined()
    expect(getRMA(claude)).toBe(claude.rma)
    const derived = claude.withOptions({ timeout: 60_000 })
    expect(getRMA(derived)).toBe(claude.rma)
    await derived.messages.create(request)
    await claude.rma.settled()
    expect(claude.rma.ledger.list()).toHaveLength(1)
    expect(Object.keys(claude)).not.toContain('rma')
  })

  test('the cache prices are applied: cheaper cache reads and dearer writes move the amount exactly', async () => {
    const cheap = { ...sonnet, cachedInput: 150_000n, cacheWrite: 6_000_000n }
    const table = createPriceTable({ models: { 'claude-sonnet-4-5': cheap } })
    const other = await startAnthropicApp({ prices: table })
    closers.push(other.close)
    const user = createUser()
    const claude = withRMA(new Anthropic({ baseURL: other.url, apiKey: 'unused', maxRetries: 0 }), {
      ...clientOptions(other, user),
      prices: table,
    })
    const { response } = await claude.messages.create(request).withResponse()
    const record = await getReceipt(response)
    expect(record.receipt.amount).toBe(billedAmount(cheap))
    expect(record.receipt.amount).not.toBe(billedAmount(sonnet))
  })
})

describe('a dishonest meter is refused, and nothing is acked or kept', { timeout }, () => {
  const meter = () => new Wallet(meterKey)
  const domain = () => app.meter.config.domain

  async function hostile(tamper: Tamper) {
    const proxy = await createTamperProxy(app.url, tamper)
    closers.push(proxy.close)
    const { claude } = wrapped(proxy.url)
    const mismatches: ReceiptError[] = []
    const acks: number[] = []
    claude.rma.events.on('mismatch', (error) => mismatches.push(error))
    claude.rma.events.on('ack', ({ seq }) => acks.push(seq))
    return { claude, mismatches, acks }
  }

  /** The price of `usage` (receipt semantics) at the Sonnet rates: what a lie would charge. */
  const priceOf = (usage: typeof anthropicBilled) => {
    const exact =
      BigInt(usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteTokens) * sonnet.input +
      BigInt(usage.cachedInputTokens) * sonnet.cachedInput +
      BigInt(usage.cacheWriteTokens) * sonnet.cacheWrite +
      BigInt(usage.outputTokens) * sonnet.output
    return (exact + 999_999n) / 1_000_000n
  }

  test('cache reads under-reported (billed as full-price input), priced consistently: USAGE_MISMATCH', async () => {
    // The classic mis-billing: the 1,000 cache reads counted as uncached input.
    const lie = { ...anthropicBilled, cachedInputTokens: 0 }
    expect(priceOf(lie)).toBeGreaterThan(billedAmount(sonnet))
    const { claude, mismatches } = await hostile({
      json: rewriteReceiptHeader((encoded) =>
        forgeReceipt(
          encoded,
          { cachedInputTokens: 0, amount: priceOf(lie), cumulativeAmount: priceOf(lie) },
          meter(),
          domain(),
        ),
      ),
    })
    const error = (await claude.messages
      .create(request)
      .catch((e: unknown) => e)) as UsageMismatchError
    expect(error).toBeInstanceOf(UsageMismatchError)
    expect(error.code).toBe('USAGE_MISMATCH')
    expect(error.shortMessage).toBe(
      "The receipt's cachedInputTokens is 0, the response reported 1000.",
    )
    expect(mismatches.map((e) => e.code)).toEqual(['USAGE_MISMATCH'])
    expect(claude.rma.ledger.list()).toEqual([])
    expect(claude.rma.ledger.totals().all.amount).toBe(0n)
  })

  test('cache writes under-reported in a stream’s inline receipt: the stream fails at its end with USAGE_MISMATCH', async () => {
    const lie = { ...anthropicBilled, cacheWriteTokens: 0 }
    const { claude, acks } = await hostile({
      stream: ({ text }) =>
        replaceInlineReceipt(text, (encoded) =>
          forgeReceipt(
            encoded,
            { cacheWriteTokens: 0, amount: priceOf(lie), cumulativeAmount: priceOf(lie) },
            meter(),
            domain(),
          ),
        ),
    })
    const stream = claude.messages.stream(request)
    const failure = await stream.finalMessage().catch((e: unknown) => e)
    // The MessageStream helper wraps any error in an AnthropicError, keeping it as `cause`.
    expect(failure).toBeInstanceOf(Anthropic.AnthropicError)
    const error = (failure as Error).cause
    expect(error).toBeInstanceOf(UsageMismatchError)
    expect((error as UsageMismatchError).shortMessage).toBe(
      "The receipt's cacheWriteTokens is 0, the response reported 2044.",
    )
    expect(claude.rma.ledger.list()).toEqual([])
    // A second call carries no ack of the refused receipt.
    await claude.messages.create(request).catch(() => undefined)
    await claude.rma.settled()
    expect(acks).toEqual([])
  })

  test('the usage right but cache reads charged at the input price (an overcharge): PRICE_MISMATCH', async () => {
    const over = priceOf({ ...anthropicBilled, cachedInputTokens: 0 })
    const { claude } = await hostile({
      json: rewriteReceiptHeader((encoded) =>
        forgeReceipt(encoded, { amount: over, cumulativeAmount: over }, meter(), domain()),
      ),
    })
    const error = (await claude.messages
      .create(request)
      .catch((e: unknown) => e)) as PriceMismatchError
    expect(error).toBeInstanceOf(PriceMismatchError)
    expect(error.code).toBe('PRICE_MISMATCH')
    expect(error.expected).toBe(9309n)
    expect(error.actual).toBe(over)
    expect(claude.rma.ledger.list()).toEqual([])
  })

  test('a cache-write overcharge in a stream (writes at 2x input): PRICE_MISMATCH at the stream’s end', async () => {
    const over = billedAmount({ ...sonnet, cacheWrite: 6_000_000n })
    const { claude } = await hostile({
      stream: ({ text }) =>
        replaceInlineReceipt(text, (encoded) =>
          forgeReceipt(encoded, { amount: over, cumulativeAmount: over }, meter(), domain()),
        ),
    })
    const stream = await claude.messages.create({ ...request, stream: true })
    const error = await collect(stream).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PriceMismatchError)
    expect((error as PriceMismatchError).shortMessage).toBe(
      `The receipt charges ${over}, the price table says 9309.`,
    )
    expect(claude.rma.ledger.list()).toEqual([])
  })

  test('a real meter running another price table (cache writes at 2x input): PRICE_TABLE_MISMATCH', async () => {
    const dear = createPriceTable({
      models: { 'claude-sonnet-4-5': { ...sonnet, cacheWrite: 6_000_000n } },
    })
    const other = await startAnthropicApp({ prices: dear })
    closers.push(other.close)
    const claude = withRMA(
      new Anthropic({ baseURL: other.url, apiKey: 'unused', maxRetries: 0 }),
      clientOptions(other, createUser(), { prices: anthropicPrices }),
    )
    const error = await claude.messages.create(request).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PriceTableMismatchError)
    expect((error as PriceTableMismatchError).receipt?.amount).toBe(
      billedAmount({ ...sonnet, cacheWrite: 6_000_000n }),
    )
    expect(claude.rma.ledger.list()).toEqual([])
  })

  test('a receipt tampered in transit (amount lowered, signature kept): RECEIPT_SIGNATURE_INVALID', async () => {
    const { claude } = await hostile({
      json: rewriteReceiptHeader((encoded) => {
        const receipt = decodeReceipt(encoded)
        return encodeReceipt({ ...receipt, cacheWriteTokens: 0, amount: receipt.amount - 1n })
      }),
    })
    const error = await claude.messages.create(request).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ReceiptSignatureError)
    expect((error as ReceiptSignatureError).code).toBe('RECEIPT_SIGNATURE_INVALID')
    expect(claude.rma.ledger.list()).toEqual([])
  })
})
