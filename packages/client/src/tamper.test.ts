import { decodeReceipt, priceUsage } from '@rma/core'
import type { MeteredApp } from '@rma/express/testing'
import { Wallet } from 'ethers'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import type { ReceiptError } from './errors.js'
import {
  ChainMismatchError,
  PriceMismatchError,
  ReceiptMissingError,
  ReceiptSignatureError,
  ResponseHashMismatchError,
  UntrustedMeterError,
  UsageMismatchError,
} from './errors.js'
import { getReceipt } from './getReceipt.js'
import { createTamperProxy, type Tamper } from './testing/createTamperProxy.js'
import {
  chat,
  createTestClient,
  createUser,
  prices,
  startMeteredApp,
} from './testing/createTestClient.js'
import { forgeReceipt, replaceInlineReceipt } from './testing/forgeReceipt.js'
import { rewriteReceiptHeader } from './testing/rewriteReceiptHeader.js'

let app: MeteredApp
const meterKey = Wallet.createRandom().privateKey
const closers: (() => Promise<void>)[] = []
beforeAll(async () => {
  app = await startMeteredApp(meterKey)
})
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})
afterAll(() => app.close())

const meter = () => new Wallet(meterKey)
const domain = () => app.meter.config.domain

/** A withRMA client talking to `app` through a hostile proxy. */
async function hostile(tamper: Tamper, mode: 'throw' | 'event' = 'throw') {
  const proxy = await createTamperProxy(app.url, tamper)
  closers.push(proxy.close)
  const client = createTestClient(app, createUser(), { url: proxy.url, onMismatch: mode })
  const mismatches: ReceiptError[] = []
  client.rma.events.on('mismatch', (error) => mismatches.push(error))
  return { client, mismatches }
}

describe('a dishonest server is caught', () => {
  test('forged usage (more output tokens than the response reported): UsageMismatchError', async () => {
    const { client, mismatches } = await hostile({
      json: rewriteReceiptHeader((encoded) =>
        forgeReceipt(encoded, { outputTokens: 480 }, meter(), domain()),
      ),
    })
    const failure = client.chat.completions.create(chat)
    await expect(failure).rejects.toBeInstanceOf(UsageMismatchError)
    const error = (await failure.catch((e: unknown) => e)) as UsageMismatchError
    expect(error.code).toBe('USAGE_MISMATCH')
    expect(error.shortMessage).toBe("The receipt's outputTokens is 480, the response reported 48.")
    expect(error.receiptId).toMatch(/^[0-9a-f-]{36}$/)
    expect(error.requestId).toMatch(/^req_200_/)
    expect(error.receipt?.outputTokens).toBe(480)
    expect(mismatches).toHaveLength(1)
    expect(client.rma.ledger.list()).toEqual([])
    expect(client.rma.ledger.rejected()[0]).toMatchObject({ code: 'USAGE_MISMATCH' })
  })

  test('forged usage in event mode: the call succeeds and `mismatch` is emitted', async () => {
    const { client, mismatches } = await hostile(
      {
        json: rewriteReceiptHeader((encoded) =>
          forgeReceipt(encoded, { inputTokens: 99_999 }, meter(), domain()),
        ),
      },
      'event',
    )
    const { data, response } = await client.chat.completions.create(chat).withResponse()
    expect(data.choices).toHaveLength(1)
    await expect(getReceipt(response)).rejects.toBeInstanceOf(UsageMismatchError)
    expect(mismatches.map((e) => e.code)).toEqual(['USAGE_MISMATCH'])
  })

  test('forged usage in a stream’s inline receipt: the stream fails at its end', async () => {
    const { client } = await hostile({
      stream: ({ text }) =>
        replaceInlineReceipt(text, (encoded) =>
          forgeReceipt(encoded, { reasoningTokens: 40 }, meter(), domain()),
        ),
    })
    const stream = await client.chat.completions.create({
      ...chat,
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks: unknown[] = []
    const read = async () => {
      for await (const chunk of stream) chunks.push(chunk)
    }
    await expect(read()).rejects.toBeInstanceOf(UsageMismatchError)
    expect(chunks.length).toBe(11)
  })

  test('an inflated amount (against the price table): PriceMismatchError', async () => {
    const { client } = await hostile({
      json: rewriteReceiptHeader((encoded) => {
        return forgeReceipt(encoded, { amount: 10n ** 6n }, meter(), domain())
      }),
    })
    const error = (await client.chat.completions
      .create(chat)
      .catch((e: unknown) => e)) as PriceMismatchError
    expect(error).toBeInstanceOf(PriceMismatchError)
    const expected = priceUsage(
      prices,
      'gpt-4o-mini',
      {
        inputTokens: 1200,
        cachedInputTokens: 1024,
        outputTokens: 48,
        reasoningTokens: 16,
      },
      { at: error.receipt!.timestamp },
    )
    expect(error.expected).toBe(expected)
    expect(error.actual).toBe(10n ** 6n)
    expect(error.code).toBe('PRICE_MISMATCH')
  })

  test('a reused seq (fork): ChainMismatchError with the conflicting receipt', async () => {
    let calls = 0
    const { client } = await hostile({
      // The meter's own key re-signs the second receipt as seq 1 again: equivocation.
      json: rewriteReceiptHeader((encoded) =>
        ++calls === 1
          ? encoded
          : forgeReceipt(encoded, { seq: 1, prev: `0x${'00'.repeat(32)}` }, meter(), domain()),
      ),
    })
    await client.chat.completions.create(chat)
    // Another request, so the forged receipt differs from the first one (not a duplicate).
    const error = (await client.chat.completions
      .create({ ...chat, messages: [{ role: 'user', content: 'Hello' }] })
      .catch((e: unknown) => e)) as ChainMismatchError
    expect(error).toBeInstanceOf(ChainMismatchError)
    expect(error.kind).toBe('fork')
    expect(error.seq).toBe(1)
    expect(error.conflicting).toBe(client.rma.ledger.list()[0]?.encoded)
    const exported = client.rma.ledger.exportJSON()
    expect(exported.rejected[0]).toMatchObject({ code: 'CHAIN_MISMATCH', encoded: error.encoded })
  })

  test('a cumulativeAmount that does not add up (a voucher for money no receipt charged): ChainMismatchError, never acked', async () => {
    let calls = 0
    const proxy = await createTamperProxy(app.url, {
      // The meter's own key re-signs the second receipt claiming 1,000 more in total than the
      // two receipts charged: price, usage and links are right, the running total is not.
      json: rewriteReceiptHeader((encoded) =>
        ++calls === 2
          ? forgeReceipt(
              encoded,
              { cumulativeAmount: decodeReceipt(encoded).cumulativeAmount + 1000n },
              meter(),
              domain(),
            )
          : encoded,
      ),
    })
    closers.push(proxy.close)
    const client = createTestClient(app, createUser(), { url: proxy.url, ackInterval: 0 })
    const acks: { seq: number; cumulativeAmount?: bigint }[] = []
    client.rma.events.on('ack', ({ seq }) => acks.push({ seq }))
    const { response } = await client.chat.completions.create(chat).withResponse()
    const first = await getReceipt(response)
    expect(first.receipt.cumulativeAmount).toBe(first.receipt.amount)
    const error = (await client.chat.completions
      .create(chat)
      .catch((e: unknown) => e)) as ChainMismatchError
    expect(error).toBeInstanceOf(ChainMismatchError)
    expect(error.kind).toBe('cumulativeAmount')
    expect(error.seq).toBe(2)
    expect(error.shortMessage).toBe('Receipt chain cumulativeAmount at seq 2.')
    expect(error.details).toBe(
      `cumulativeAmount is ${error.receipt!.cumulativeAmount}; the receipt at seq 1 has ${first.receipt.amount}, plus this amount ${error.receipt!.amount} makes ${first.receipt.amount + error.receipt!.amount}.`,
    )
    // Later calls go on, but the disputed chain is never acked past seq 1: no voucher for it.
    await client.chat.completions.create(chat).catch(() => undefined)
    await client.rma.flushAcks()
    expect(acks.map((a) => a.seq)).toEqual([1])
    const stored = await app.meter.config.store.latestAck({
      assetId: first.receipt.assetId,
      meter: first.receipt.meter,
      user: first.receipt.user,
    })
    expect(stored?.seq).toBe(1)
    expect(stored?.cumulativeAmount).toBe(first.receipt.cumulativeAmount)
  })

  test('a first receipt whose cumulativeAmount is not its own amount is refused', async () => {
    const { client } = await hostile({
      json: rewriteReceiptHeader((encoded) =>
        forgeReceipt(
          encoded,
          { cumulativeAmount: decodeReceipt(encoded).amount + 1n },
          meter(),
          domain(),
        ),
      ),
    })
    const error = (await client.chat.completions
      .create(chat)
      .catch((e: unknown) => e)) as ChainMismatchError
    expect(error).toBeInstanceOf(ChainMismatchError)
    expect(error).toMatchObject({ kind: 'cumulativeAmount', seq: 1, code: 'CHAIN_MISMATCH' })
    expect(client.rma.ledger.list()).toEqual([])
  })

  test('a skipped seq (gap) and a broken prev link', async () => {
    let calls = 0
    const { client } = await hostile(
      {
        json: rewriteReceiptHeader((encoded) => {
          calls++
          if (calls === 2) return forgeReceipt(encoded, { seq: 3 }, meter(), domain())
          if (calls === 3)
            return forgeReceipt(
              encoded,
              { seq: 4, prev: `0x${'11'.repeat(32)}` },
              meter(),
              domain(),
            )
          return encoded
        }),
      },
      'event',
    )
    const kinds: string[] = []
    client.rma.events.on('mismatch', (e) => kinds.push((e as ChainMismatchError).kind))
    await client.chat.completions.create(chat)
    await client.chat.completions.create(chat)
    await client.chat.completions.create(chat)
    expect(kinds).toEqual(['gap', 'brokenLink'])
  })

  test('a receipt signed by an unknown key: UntrustedMeterError; naming the trusted meter: ReceiptSignatureError', async () => {
    const stranger = Wallet.createRandom() as unknown as Wallet
    const { client } = await hostile({
      json: rewriteReceiptHeader((encoded) =>
        forgeReceipt(encoded, { meter: stranger.address as `0x${string}` }, stranger, domain()),
      ),
    })
    const untrusted = await client.chat.completions.create(chat).catch((e: unknown) => e)
    expect(untrusted).toBeInstanceOf(UntrustedMeterError)
    expect((untrusted as UntrustedMeterError).meter).toBe(stranger.address.toLowerCase())

    const { client: second } = await hostile({
      json: rewriteReceiptHeader((encoded) => forgeReceipt(encoded, {}, stranger, domain())),
    })
    const forged = await second.chat.completions.create(chat).catch((e: unknown) => e)
    expect(forged).toBeInstanceOf(ReceiptSignatureError)
    expect((forged as ReceiptSignatureError).code).toBe('RECEIPT_SIGNATURE_INVALID')
  })

  test('a dropped receipt (JSON and stream): ReceiptMissingError', async () => {
    const { client } = await hostile({
      json: ({ headers }) => {
        headers.delete('rma-receipt')
        headers.delete('rma-receipt-id')
        return undefined
      },
      stream: ({ headers, text }) => {
        headers.delete('rma-receipt-id')
        return text.slice(0, text.indexOf('event: rma.receipt'))
      },
    })
    await expect(client.chat.completions.create(chat)).rejects.toBeInstanceOf(ReceiptMissingError)
    const stream = await client.chat.completions.create({ ...chat, stream: true })
    let chunks = 0
    const read = async () => {
      for await (const _ of stream) chunks++
    }
    await expect(read()).rejects.toBeInstanceOf(ReceiptMissingError)
    expect(chunks).toBe(10)
  })

  test('a dropped inline frame with the id kept: the receipt is fetched from /rma/receipts/:id', async () => {
    const { client } = await hostile({
      stream: ({ text }) => text.slice(0, text.indexOf('event: rma.receipt')),
    })
    const stream = await client.chat.completions.create({ ...chat, stream: true })
    for await (const _ of stream);
    expect((await getReceipt(stream)).checks.response).toBe('matched')
  })

  test('a body changed after metering: ResponseHashMismatchError', async () => {
    const { client } = await hostile({
      json: ({ body }) =>
        new TextEncoder().encode(new TextDecoder().decode(body).replace('Hello', 'Hallo')),
    })
    await expect(client.chat.completions.create(chat)).rejects.toBeInstanceOf(
      ResponseHashMismatchError,
    )
  })
})
