import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createDomain, decodeReceipt, verifyReceipt } from '@rma/core'
import { createMeter, type MeteredCall } from '@rma/meter'
import { assetId, attestWith, chainId, prices, settlementContract } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { rmaMeter } from './rmaMeter.js'

const user = Wallet.createRandom() as unknown as Wallet
const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
const seen: { call: MeteredCall | undefined; body: string }[] = []
let server: Server
let url: string

beforeAll(async () => {
  const meter = createMeter({
    assetId,
    chainId,
    settlementContract,
    prices,
    store: createMemoryStore(),
    signer: Wallet.createRandom().privateKey,
  })
  const app = new Hono()
  app.use(rmaMeter(meter))
  app.post('/v1/chat/completions', async (c) => {
    seen.push({ call: c.get('rma'), body: await c.req.text() })
    return c.json({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    })
  })
  app.get('/hello', (c) => c.text(`hello ${c.get('rma') === undefined}`))
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve()) as Server
  })
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

const post = async (attestation?: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(attestation ? { 'rma-attestation': attestation } : {}),
    },
    body,
  })

describe('rmaMeter: Hono middleware on meter.fetch', () => {
  test('an attested call reaches the handler with c.get("rma") and the same body, and gets a verified receipt', async () => {
    const res = await post(await attestWith(user, { body }))
    expect(res.status).toBe(200)
    const receipt = decodeReceipt(res.headers.get('rma-receipt'))
    expect(
      verifyReceipt({
        receipt,
        domain: createDomain({ chainId, verifyingContract: settlementContract }),
      }),
    ).toBe(true)
    expect(receipt).toMatchObject({
      user: user.address.toLowerCase(),
      inputTokens: 3,
      outputTokens: 1,
    })
    expect(seen.at(-1)?.body).toBe(body)
    expect(seen.at(-1)?.call?.user.toLowerCase()).toBe(user.address.toLowerCase())
    expect(seen.at(-1)?.call?.id).toBe(res.headers.get('rma-receipt-id'))
  })

  test('attack: an unsigned call is refused in OpenAI shape and never reaches the handler', async () => {
    const before = seen.length
    const res = await post()
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({
      error: { type: 'authentication_error', code: 'rma_attestation_missing' },
    })
    expect(seen.length).toBe(before)
  })

  test('a route the meter does not meter passes through with no call', async () => {
    const res = await fetch(`${url}/hello`)
    expect(await res.text()).toBe('hello true')
  })
})
