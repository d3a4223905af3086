import type { AddressInfo } from 'node:net'
import { decodeReceipt, type Hex } from '@rma/core'
import { createMeter } from '@rma/meter'
import { assetId, attestWith, chainId, prices, settlementContract } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { keepRawBodies } from './keepRawBodies.js'
import { meteredHandler } from './meteredHandler.js'

const user = Wallet.createRandom() as unknown as Wallet
// Spaces and key order a JSON parser would not keep: the meter must hash these exact bytes.
const body = '{ "model": "gpt-4o-mini",  "input": "Hi", "max_output_tokens": 8 }'
const store = createMemoryStore()
let app: FastifyInstance
let url: string
let handled = 0

beforeAll(async () => {
  const meter = createMeter({
    assetId,
    chainId,
    settlementContract,
    prices,
    store,
    signer: Wallet.createRandom().privateKey,
  })
  app = Fastify()
  app.post('/v1/echo', async (request) => request.body)
  await app.register(async (metered) => {
    keepRawBodies(metered)
    metered.post(
      '/v1/responses',
      meteredHandler(meter, async (request) => {
        handled++
        expect(await request.text()).toBe(body)
        return Response.json({
          id: 'resp_1',
          object: 'response',
          status: 'completed',
          model: 'gpt-4o-mini',
          output: [],
          usage: { input_tokens: 5, output_tokens: 3, total_tokens: 8 },
        })
      }),
    )
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
})
afterAll(() => app.close())

const post = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })

test('meteredHandler: the exact body bytes reach the meter and the handler; the Response is the reply, with its receipt', async () => {
  const res = await post('/v1/responses', { 'rma-attestation': await attestWith(user, { body }) })
  expect(res.status).toBe(200)
  const receipt = decodeReceipt(res.headers.get('rma-receipt'))
  expect(receipt).toMatchObject({ inputTokens: 5, outputTokens: 3 })
  expect((await store.get(res.headers.get('rma-receipt-id')!))?.receipt).toEqual(receipt)
})

test('meteredHandler, attack: a replayed attestation is refused and the handler runs once', async () => {
  const attestation = await attestWith(user, { body })
  expect((await post('/v1/responses', { 'rma-attestation': attestation })).status).toBe(200)
  const before = handled
  const replay = await post('/v1/responses', { 'rma-attestation': attestation })
  expect(replay.status).toBe(401)
  expect(await replay.json()).toMatchObject({ error: { code: 'rma_attestation_replayed' } })
  expect(handled).toBe(before)
  expect(await store.listByUser({ user: user.address as Hex })).toHaveLength(2)
})

test('keepRawBodies applies to its own context only: the app keeps its JSON parser elsewhere', async () => {
  expect(await (await post('/v1/echo')).json()).toEqual(JSON.parse(body))
})
