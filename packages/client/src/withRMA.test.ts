import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeAck, verifyReceipt } from '@rma/core'
import type { MeteredApp } from '@rma/express/testing'
import { assetId, fakeUsage } from '@rma/express/testing'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createFileLedgerStore } from './createFileLedgerStore.js'
import { getReceipt } from './getReceipt.js'
import { getRMA } from './getRMA.js'
import { chat, createTestClient, createUser, startMeteredApp } from './testing/createTestClient.js'
import type { ReceiptRecord } from './types.js'

let app: MeteredApp
beforeAll(async () => {
  app = await startMeteredApp()
})
afterAll(() => app.close())

const reported = {
  inputTokens: fakeUsage.input,
  cachedInputTokens: fakeUsage.cached,
  outputTokens: fakeUsage.output,
  reasoningTokens: fakeUsage.reasoning,
}

describe('withRMA: the real OpenAI SDK against a metered Express server', () => {
  test('chat JSON: the SDK gets its usual result; the receipt is checked and in the ledger', async () => {
    const user = createUser()
    const client = createTestClient(app, user)
    const seen: ReceiptRecord[] = []
    client.rma.events.on('receipt', (record) => seen.push(record))
    const { data, response } = await client.chat.completions.create(chat).withResponse()
    expect(data.choices[0]?.message.content).toBe('Hello there, how can I help?')
    expect(data.usage?.prompt_tokens).toBe(fakeUsage.input)
    const record = await getReceipt(response)
    expect(record.receipt).toMatchObject({
      ...reported,
      user: user.address.toLowerCase(),
      meter: app.meterWallet.address.toLowerCase(),
      seq: 1,
      model: 'gpt-4o-mini',
      usageSource: 'reported',
    })
    expect(record.checks).toEqual({ usage: 'matched', response: 'matched', price: 'matched' })
    expect(record.id).toBe(response.headers.get('rma-receipt-id'))
    expect(verifyReceipt({ receipt: record.receipt, domain: app.meter.config.domain })).toBe(true)
    expect(seen).toEqual([record])
    expect(client.rma.ledger.list()).toEqual([record])
    expect(await client.rma.getReceipt(response)).toBe(record)
    const stored = await app.store.get(record.id)
    expect(stored?.hash).toBe(record.hash)
  })

  test('the wrapped client is the same SDK type and the original stays unwrapped', async () => {
    const user = createUser()
    const openai = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: 'unused', maxRetries: 0 })
    const client = createTestClient(app, user)
    expect(client).toBeInstanceOf(OpenAI)
    expect(Object.keys(client)).not.toContain('rma')
    expect(getRMA(client)).toBe(client.rma)
    expect(getRMA(client.withOptions({ timeout: 5_000 }))).toBe(client.rma)
    expect(getRMA(openai)).toBeUndefined()
    // The bare client sends no attestation: the meter refuses it with an OpenAI-shaped 401.
    await expect(openai.chat.completions.create(chat)).rejects.toMatchObject({
      status: 401,
      code: 'rma_attestation_missing',
    })
  })

  test('a stream through for await: chunks as from the upstream, receipt frame stripped, usage matched', async () => {
    const client = createTestClient(app, createUser())
    const stream = await client.chat.completions.create({
      ...chat,
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.map((c) => c.object)).toEqual(
      Array.from({ length: chunks.length }, () => 'chat.completion.chunk'),
    )
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(fakeUsage.output)
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')
    expect(text).toBe('word0 word1 word2 word3 word4 word5 word6 word7 ')
    const record = await getReceipt(stream)
    expect(record.checks).toEqual({ usage: 'matched', response: 'matched', price: 'matched' })
    expect(record.receipt.outputTokens).toBe(fakeUsage.output)
  })

  test('a stream without include_usage: the meter read the usage the client never sees', async () => {
    const client = createTestClient(app, createUser())
    const { data: stream, response } = await client.chat.completions
      .create({ ...chat, stream: true })
      .withResponse()
    let chunks = 0
    for await (const chunk of stream) {
      expect(chunk.usage ?? undefined).toBeUndefined()
      chunks++
    }
    expect(chunks).toBe(10)
    const record = await getReceipt(response)
    expect(record.checks.usage).toBe('unreported')
    expect(record.receipt).toMatchObject({ ...reported, usageSource: 'reported' })
    expect(await getReceipt(stream)).toBe(record)
  })

  test('tee(): both branches get every chunk, the receipt once', async () => {
    const client = createTestClient(app, createUser())
    const stream = await client.chat.completions.create({ ...chat, stream: true })
    const [left, right] = stream.tee()
    const read = async (branch: typeof left) => {
      const out: string[] = []
      for await (const chunk of branch) out.push(chunk.choices[0]?.delta.content ?? '')
      return out.join('')
    }
    const [a, b] = await Promise.all([read(left), read(right)])
    expect(a).toBe(b)
    expect(a).toContain('word7')
    const record = await getReceipt(left)
    expect(await getReceipt(right)).toBe(record)
    expect(client.rma.ledger.list()).toHaveLength(1)
  })

  test('toReadableStream(): the SDK’s NDJSON stream, receipt checked', async () => {
    const client = createTestClient(app, createUser())
    const stream = await client.chat.completions.create({ ...chat, stream: true })
    const text = await new Response(stream.toReadableStream()).text()
    const lines = text.trim().split('\n')
    expect(lines).toHaveLength(10)
    expect(lines.every((l) => !l.includes('rma.receipt'))).toBe(true)
    expect((await getReceipt(stream)).checks.response).toBe('matched')
  })

  test('an early break aborts the stream; the partial receipt is fetched from /rma/receipts/:id', async () => {
    const client = createTestClient(app, createUser())
    const stream = await client.chat.completions.create({ ...chat, model: 'slow', stream: true })
    let chunks = 0
    for await (const _ of stream) if (++chunks === 3) break
    expect(stream.controller.signal.aborted).toBe(true)
    const record = await getReceipt(stream)
    expect(record.receipt.usageSource).toBe('partial')
    expect(record.checks.usage).toBe('partial')
    expect(['matched', 'unprovable']).toContain(record.checks.response)
    expect(record.receipt.outputTokens).toBeGreaterThan(0)
    expect(await client.rma.fetchReceipt(record.id)).toBe(record)
  })

  test('Responses API stream: usage from response.completed is matched', async () => {
    const client = createTestClient(app, createUser())
    const stream = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'Hi',
      stream: true,
    })
    const types: string[] = []
    for await (const event of stream) types.push(event.type)
    expect(types[0]).toBe('response.created')
    expect(types.at(-1)).toBe('response.completed')
    const record = await getReceipt(stream)
    expect(record.checks.usage).toBe('matched')
    expect(record.receipt).toMatchObject(reported)
  })

  test('Responses API JSON and the chat.completions.stream() helper', async () => {
    const client = createTestClient(app, createUser())
    const { data, response } = await client.responses
      .create({ model: 'gpt-4o-mini', input: 'Hi' })
      .withResponse()
    expect(data.output_text).toBe('Hello there')
    expect((await getReceipt(response)).checks.usage).toBe('matched')
    const helper = client.chat.completions.stream({
      ...chat,
      stream_options: { include_usage: true },
    })
    const final = await helper.finalChatCompletion()
    expect(final.choices[0]?.message.content).toContain('word7')
    expect(final.usage?.completion_tokens).toBe(fakeUsage.output)
    await client.rma.settled()
    expect(client.rma.ledger.list()).toHaveLength(2)
    expect(client.rma.ledger.list()[1]?.receipt.seq).toBe(2)
  })

  test('embeddings', async () => {
    const client = createTestClient(app, createUser())
    const { response } = await client.embeddings
      .create({ model: 'text-embedding-3-small', input: 'Hi' })
      .withResponse()
    const record = await getReceipt(response)
    expect(record.receipt).toMatchObject({
      model: 'text-embedding-3-small',
      inputTokens: fakeUsage.input,
      outputTokens: 0,
    })
    expect(record.checks).toEqual({ usage: 'matched', response: 'matched', price: 'matched' })
  })

  test('acks go on the next call (rma-ack) and flushAcks() POSTs the last one', async () => {
    const user = createUser()
    const client = createTestClient(app, user, { ackInterval: 0 })
    const acks: number[] = []
    client.rma.events.on('ack', ({ seq }) => acks.push(seq))
    await client.chat.completions.create(chat)
    await client.chat.completions.create(chat)
    const meter = app.meterWallet.address as `0x${string}`
    const address = user.address as `0x${string}`
    expect((await app.store.latestAck({ assetId, meter: meter, user: address }))?.seq).toBe(1)
    await client.rma.flushAcks()
    expect((await app.store.latestAck({ assetId, meter: meter, user: address }))?.seq).toBe(2)
    expect(acks).toEqual([1, 2])
    const exported = client.rma.ledger.exportJSON()
    expect(exported.acks.map((a) => decodeAck(a).seq)).toEqual([1, 2])
  })

  test('at most one ack per ackInterval (default 1 s): the head acks the chain', async () => {
    const user = createUser()
    const client = createTestClient(app, user)
    for (let i = 0; i < 4; i++) await client.chat.completions.create(chat)
    const latest = () =>
      app.store.latestAck({
        assetId,
        meter: app.meterWallet.address as `0x${string}`,
        user: user.address as `0x${string}`,
      })
    expect((await latest())?.seq).toBe(1)
    await client.rma.flushAcks()
    expect((await latest())?.seq).toBe(4)
    expect(client.rma.ledger.exportJSON().acks).toHaveLength(2)
  })

  test('ackMode post: each receipt is acked by POST /rma/acks', async () => {
    const user = createUser()
    const client = createTestClient(app, user, { ackMode: 'post', ackInterval: 0 })
    await client.chat.completions.create(chat)
    await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' })
    await client.rma.flushAcks()
    const latest = await app.store.latestAck({
      assetId,
      meter: app.meterWallet.address as `0x${string}`,
      user: user.address as `0x${string}`,
    })
    expect(latest?.seq).toBe(2)
  })

  test('concurrent calls: one gap-free chain, totals per model and asset', async () => {
    const client = createTestClient(app, createUser())
    const mismatches: unknown[] = []
    client.rma.events.on('mismatch', (error) => mismatches.push(error))
    await Promise.all([
      ...Array.from({ length: 6 }, () => client.chat.completions.create(chat)),
      ...Array.from({ length: 2 }, () =>
        client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }),
      ),
    ])
    await client.rma.settled()
    expect(mismatches).toEqual([])
    const seqs = client.rma.ledger
      .list()
      .map((r) => r.receipt.seq)
      .sort((a, b) => a - b)
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    const totals = client.rma.ledger.totals()
    expect(totals.all.calls).toBe(8)
    expect(totals.byModel['gpt-4o-mini']).toMatchObject({
      calls: 6,
      inputTokens: 6 * fakeUsage.input,
      outputTokens: 6 * fakeUsage.output,
    })
    expect(totals.byModel['text-embedding-3-small']?.calls).toBe(2)
    const byAsset = Object.values(totals.byAsset)
    expect(byAsset).toHaveLength(1)
    expect(byAsset[0]?.amount).toBe(totals.all.amount)
    expect(typeof totals.all.amount).toBe('bigint')
  })

  test('a file ledger: a restarted client continues its chain; a fresh one anchors at its first receipt', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rma-client-')), 'ledger.jsonl')
    const user = createUser()
    const first = createTestClient(app, user, { store: createFileLedgerStore({ path }) })
    await first.chat.completions.create(chat)
    await first.chat.completions.create(chat)
    await first.rma.settled()
    const restarted = createTestClient(app, user, { store: createFileLedgerStore({ path }) })
    const mismatches: unknown[] = []
    restarted.rma.events.on('mismatch', (e) => mismatches.push(e))
    const { response } = await restarted.chat.completions.create(chat).withResponse()
    expect((await getReceipt(response)).receipt.seq).toBe(3)
    expect(restarted.rma.ledger.list().map((r) => r.receipt.seq)).toEqual([1, 2, 3])
    expect(mismatches).toEqual([])
    // The restarted client acked seq 2 (its head from the file) with its first call.
    const ack = await app.store.latestAck({
      assetId,
      meter: app.meterWallet.address as `0x${string}`,
      user: user.address as `0x${string}`,
    })
    expect(ack?.seq).toBe(2)
    const fresh = createTestClient(app, user)
    const { response: next } = await fresh.chat.completions.create(chat).withResponse()
    expect((await getReceipt(next)).receipt.seq).toBe(4)
  })
})
