import { decodeReceipt } from '@rma/core'
import { assetId, createMeteredApp, fakeUsage, type MeteredApp } from '@rma/express/testing'
import { createMemoryStore } from '@rma/store'
import { HttpResponse, http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { getRMA } from './getRMA.js'
import { chat, createTestClient, createUser } from './testing/createTestClient.js'

// The upstream provider, mocked with msw: the only mock; the meter, proxy and client are real.
const UPSTREAM = 'https://api.upstream.test'
const usage = {
  prompt_tokens: fakeUsage.input,
  completion_tokens: fakeUsage.output,
  total_tokens: fakeUsage.input + fakeUsage.output,
  prompt_tokens_details: { cached_tokens: fakeUsage.cached },
  completion_tokens_details: { reasoning_tokens: fakeUsage.reasoning },
}
const chunk = (delta: object, extra: string) =>
  `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":${JSON.stringify(delta)},"finish_reason":null}]${extra}}\n\n`

const mock = setupServer(
  http.post(`${UPSTREAM}/v1/chat/completions`, async ({ request }) => {
    const body = (await request.json()) as {
      stream?: boolean
      stream_options?: { include_usage?: boolean }
    }
    if (!body.stream)
      return HttpResponse.json({
        id: 'c1',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4o-mini',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: 'Hello from msw' },
            finish_reason: 'stop',
          },
        ],
        usage,
      })
    const withUsage = body.stream_options?.include_usage === true
    const tail = withUsage ? ',"usage":null' : ''
    const frames = [
      chunk({ role: 'assistant', content: '' }, tail),
      chunk({ content: 'Hello ' }, tail),
      chunk({ content: 'from msw' }, tail),
    ]
    if (withUsage)
      frames.push(
        `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":${JSON.stringify(usage)}}\n\n`,
      )
    frames.push('data: [DONE]\n\n')
    const stream = new ReadableStream({
      start(controller) {
        for (const frame of frames) controller.enqueue(new TextEncoder().encode(frame))
        controller.close()
      },
    })
    return new HttpResponse(stream, { headers: { 'content-type': 'text/event-stream' } })
  }),
)

let app: MeteredApp
const user = createUser()

beforeAll(async () => {
  mock.listen({ onUnhandledFrame: 'bypass' })
  app = await createMeteredApp({
    store: createMemoryStore(),
    upstream: { url: UPSTREAM, requests: [], cancelled: 0, answered: 0, close: async () => {} },
    // msw intercepts the global fetch; the proxy's default is undici's own (for its connect timeout).
    proxy: { fetch: globalThis.fetch },
  })
})
afterAll(async () => {
  await app.close()
  mock.close()
})

test('withRMA over a real meter, with the upstream mocked by msw: JSON and stream receipts verified and acked', async () => {
  const client = createTestClient(app, user)
  const { data, response } = await client.chat.completions.create(chat).withResponse()
  expect(data.choices[0]?.message.content).toBe('Hello from msw')
  const receipt = decodeReceipt(response.headers.get('rma-receipt'))
  expect(receipt.inputTokens).toBe(fakeUsage.input)
  expect(receipt.cachedInputTokens).toBe(fakeUsage.cached)

  const stream = await client.chat.completions.create({ ...chat, stream: true })
  let text = ''
  for await (const part of stream) text += part.choices[0]?.delta.content ?? ''
  expect(text).toBe('Hello from msw')

  const rma = getRMA(client)!
  await rma.settled()
  const ledger = rma.ledger.list()
  expect(ledger).toHaveLength(2)
  expect(ledger.every((entry) => entry.receipt.outputTokens === fakeUsage.output)).toBe(true)
  await rma.flushAcks()
  const acked = await app.store.latestAck({
    assetId,
    meter: app.meterWallet.address as `0x${string}`,
    user: user.address as `0x${string}`,
  })
  expect(acked?.seq).toBe(2)
})
