import type { MeteredApp } from '@rma/express/testing'
import { fakeUsage } from '@rma/express/testing'
import OpenAI6 from 'openai6'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { getReceipt } from './getReceipt.js'
import { chat, clientOptions, createUser, startMeteredApp } from './testing/createTestClient.js'
import { withRMA } from './withRMA.js'

let app: MeteredApp
beforeAll(async () => {
  app = await startMeteredApp()
})
afterAll(() => app.close())

describe('withRMA with the previous major, openai v6', () => {
  const create = () =>
    withRMA(
      new OpenAI6({ baseURL: `${app.url}/v1`, apiKey: 'unused', maxRetries: 0 }),
      clientOptions(app, createUser()),
    )

  test('JSON, streams with tee(), and an early break', async () => {
    const client = create()
    const { response } = await client.chat.completions.create(chat).withResponse()
    expect((await getReceipt(response)).checks.usage).toBe('matched')

    const stream = await client.chat.completions.create({
      ...chat,
      stream: true,
      stream_options: { include_usage: true },
    })
    const [left, right] = stream.tee()
    let chunks = 0
    for await (const _ of left) chunks++
    for await (const _ of right) chunks++
    expect(chunks).toBe(22)
    expect((await getReceipt(stream)).receipt.outputTokens).toBe(fakeUsage.output)

    // Leave once text was delivered: a stream left before any text is not charged at all.
    const slow = await client.chat.completions.create({ ...chat, model: 'slow', stream: true })
    let seen = 0
    for await (const _ of slow) if (++seen === 3) break
    expect((await getReceipt(slow)).receipt.usageSource).toBe('partial')
    expect(client.rma.ledger.list().map((r) => r.receipt.seq)).toEqual([1, 2, 3])
  })
})
