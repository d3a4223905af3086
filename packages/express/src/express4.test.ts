import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { decodeReceipt, verifyReceipt } from '@rma/core'
import { createFakeUpstream, type FakeUpstream, fakeUsage } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import express4 from 'express4'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { openaiProxy } from './openaiProxy.js'
import { type RmaMeter, rmaMeter } from './rmaMeter.js'
import { rmaRouter } from './rmaRouter.js'
import {
  assetId,
  attestingFetch,
  chainId,
  prices,
  settlementContract,
} from './testing/createMeteredApp.js'

let upstream: FakeUpstream
let server: ReturnType<ReturnType<typeof express4>['listen']>
let url: string
let meter: RmaMeter
const user = Wallet.createRandom() as unknown as Wallet

beforeAll(async () => {
  upstream = await createFakeUpstream()
  meter = rmaMeter({
    assetId,
    chainId,
    settlementContract,
    prices,
    store: createMemoryStore(),
    signer: Wallet.createRandom(),
  })
  const app = express4()
  app.use(meter as never)
  app.use(rmaRouter({ meter }) as never)
  app.post('/v1/*', openaiProxy({ upstream: `${upstream.url}/v1` }) as never)
  server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
  await upstream.close()
})

const send = (body: object) =>
  attestingFetch(user)(`${url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(body) })

test('Express 4: a JSON call gets its receipt header', async () => {
  const res = await send({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
  expect(res.status).toBe(200)
  const receipt = decodeReceipt(res.headers.get('rma-receipt'))
  expect(verifyReceipt({ receipt, domain: meter.config.domain })).toBe(true)
  expect(receipt.inputTokens).toBe(fakeUsage.input)
})

test('Express 4: a stream is metered and its receipt served by rmaRouter', async () => {
  const res = await send({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Hi' }],
    stream: true,
  })
  expect((await res.text()).endsWith('data: [DONE]\n\n')).toBe(true)
  const id = res.headers.get('rma-receipt-id')
  let body: { encoded?: string } = {}
  for (let i = 0; i < 50 && !body.encoded; i++) {
    const got = await fetch(`${url}/rma/receipts/${id}`)
    if (got.status === 200) body = (await got.json()) as { encoded: string }
    else await new Promise((r) => setTimeout(r, 20))
  }
  expect(decodeReceipt(body.encoded).outputTokens).toBe(fakeUsage.output)
})
