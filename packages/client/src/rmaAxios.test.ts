import type { MeteredApp } from '@rma/express/testing'
import { assetId, fakeUsage } from '@rma/express/testing'
import axios from 'axios'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { UsageMismatchError } from './errors.js'
import { getReceipt } from './getReceipt.js'
import { getRMA } from './getRMA.js'
import { rmaAxios } from './rmaAxios.js'
import { createTamperProxy } from './testing/createTamperProxy.js'
import { chat, clientOptions, createUser, startMeteredApp } from './testing/createTestClient.js'
import { forgeReceipt } from './testing/forgeReceipt.js'

let app: MeteredApp
const meterKey = Wallet.createRandom().privateKey
beforeAll(async () => {
  app = await startMeteredApp(meterKey)
})
afterAll(() => app.close())

describe('rmaAxios', () => {
  test('a JSON call is attested and its receipt checked; the next call acks it', async () => {
    const user = createUser()
    const api = rmaAxios(axios.create({ baseURL: `${app.url}/v1` }), clientOptions(app, user))
    const res = await api.post('/chat/completions', chat)
    expect(res.data.choices[0].message.content).toBe('Hello there, how can I help?')
    const record = await getReceipt(res)
    expect(record.receipt).toMatchObject({
      seq: 1,
      inputTokens: fakeUsage.input,
      outputTokens: fakeUsage.output,
    })
    expect(record.checks).toEqual({ usage: 'matched', response: 'matched', price: 'matched' })
    expect(getRMA(api)).toBe(api.rma)
    const second = await api.post('/embeddings', { model: 'text-embedding-3-small', input: 'x' })
    expect((await getReceipt(second)).receipt.seq).toBe(2)
    const ack = await app.store.latestAck({
      assetId,
      meter: app.meterWallet.address as `0x${string}`,
      user: user.address as `0x${string}`,
    })
    expect(ack?.seq).toBe(1)
  })

  test('a string body and unmetered calls pass; failed calls are not charged', async () => {
    const api = rmaAxios(
      axios.create({ baseURL: `${app.url}/v1` }),
      clientOptions(app, createUser()),
    )
    const res = await api.post('/chat/completions', JSON.stringify(chat), {
      headers: { 'content-type': 'application/json' },
    })
    expect((await getReceipt(res)).receipt.seq).toBe(1)
    const health = await api.get(`${app.url}/rma/health`)
    expect(health.data.ok).toBe(true)
    await expect(
      api.post('/chat/completions', { ...chat, model: 'fail-429' }),
    ).rejects.toMatchObject({ response: { status: 429 } })
    expect(api.rma.ledger.list()).toHaveLength(1)
  })

  test('a forged receipt rejects the call with the typed error', async () => {
    const proxy = await createTamperProxy(app.url, {
      json: ({ headers }) => {
        const encoded = headers.get('rma-receipt')
        if (encoded)
          headers.set(
            'rma-receipt',
            forgeReceipt(
              encoded,
              { cachedInputTokens: 0 },
              new Wallet(meterKey),
              app.meter.config.domain,
            ),
          )
        return undefined
      },
    })
    try {
      const api = rmaAxios(
        axios.create({ baseURL: `${proxy.url}/v1` }),
        clientOptions(app, createUser()),
      )
      const error = await api.post('/chat/completions', chat).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(UsageMismatchError)
      expect((error as UsageMismatchError).field).toBe('cachedInputTokens')
    } finally {
      await proxy.close()
    }
  })
})
