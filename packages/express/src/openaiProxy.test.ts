import { once } from 'node:events'
import { decodeReceipt, type Hex, verifyReceipt } from '@rma/core'
import type { ReceiptJSON } from '@rma/meter'
import { receiptListRequestHash } from '@rma/meter'
import { attestWith, fakeUsage } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import express from 'express'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { openaiProxy } from './openaiProxy.js'
import {
  attest,
  attestingFetch,
  createMeteredApp,
  type MeteredApp,
} from './testing/createMeteredApp.js'

let app: MeteredApp
const user = Wallet.createRandom() as unknown as Wallet
const post = (path: string, body: object, headers: Record<string, string> = {}) =>
  attestingFetch(user, headers)(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
const chat = (extra: object = {}) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Hi' }],
  ...extra,
})

async function storedReceipt(id: string | null) {
  for (let i = 0; i < 50; i++) {
    const stored = id ? await app.store.get(id) : undefined
    if (stored) return stored.receipt
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`receipt ${id} never stored`)
}

beforeAll(async () => {
  app = await createMeteredApp({
    store: createMemoryStore(),
    router: { operatorToken: 'sk-operator' },
  })
})
afterAll(() => app.close())

describe('streams through rmaMeter + openaiProxy', () => {
  test('a plain client gets the upstream stream byte for byte, with and without include_usage', async () => {
    for (const body of [
      chat({ stream: true }),
      chat({ stream: true, stream_options: { include_usage: true } }),
    ]) {
      const direct = await fetch(`${app.upstream.url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify(body),
      })
      const expected = Buffer.from(await direct.arrayBuffer())
      const metered = await post('/v1/chat/completions', body)
      expect(metered.headers.get('content-type')).toBe('text/event-stream')
      expect(metered.headers.get('rma-receipt-id')).toMatch(/^[0-9a-f-]{36}$/)
      const received = Buffer.from(await metered.arrayBuffer())
      expect(received.equals(expected)).toBe(true)
      const receipt = await storedReceipt(metered.headers.get('rma-receipt-id'))
      expect(receipt.inputTokens).toBe(fakeUsage.input)
      expect(receipt.responseHash).toBe(`0x${(await import('js-sha3')).keccak256(received)}`)
    }
  })

  test('rma-receipt: inline appends one rma.receipt frame after the stream', async () => {
    const res = await post('/v1/chat/completions', chat({ stream: true }), {
      'rma-receipt': 'inline',
    })
    const text = await res.text()
    const [stream, frame] = text.split('event: rma.receipt\n')
    expect(stream?.endsWith('data: [DONE]\n\n')).toBe(true)
    const payload = JSON.parse(frame!.replace(/^data: /, '').trim()) as {
      object: string
      id: string
      receipt: string
    }
    expect(payload.object).toBe('rma.receipt')
    expect(payload.id).toBe(res.headers.get('rma-receipt-id'))
    const receipt = decodeReceipt(payload.receipt)
    expect(verifyReceipt({ receipt, domain: app.meter.config.domain })).toBe(true)
    expect(receipt.outputTokens).toBe(fakeUsage.output)
  })

  test('malformed upstream SSE is forwarded as is and still metered from the usage chunk', async () => {
    const res = await post('/v1/chat/completions', { ...chat({ stream: true }), model: 'bad-sse' })
    const text = await res.text()
    expect(text).toContain('"content":"br\n\ndata: oken}}')
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true)
    const receipt = await storedReceipt(res.headers.get('rma-receipt-id'))
    expect(receipt.usageSource).toBe('reported')
    expect(receipt.outputTokens).toBe(fakeUsage.output)
  })

  test('a stream without any usage is estimated with the tokenizer and capped at max tokens', async () => {
    const events: string[] = []
    app.meter.events.on('estimate', (e) => events.push(e.reason))
    const res = await post('/v1/chat/completions', {
      ...chat({ stream: true, max_tokens: 5 }),
      model: 'no-usage',
    })
    await res.text()
    const receipt = await storedReceipt(res.headers.get('rma-receipt-id'))
    expect(receipt.usageSource).toBe('estimated')
    expect(receipt.inputTokens).toBeGreaterThan(0)
    expect(receipt.outputTokens).toBe(5)
    expect(events).toContain('missing-usage')
  })

  test('in drain mode an aborted stream is read to its end for the exact usage', async () => {
    const drained = await createMeteredApp({
      store: createMemoryStore(),
      proxy: { onClientAbort: 'drain' },
      upstream: app.upstream,
    })
    try {
      const controller = new AbortController()
      const res = await attestingFetch(user)(`${drained.url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ ...chat({ stream: true }), model: 'slow' }),
        signal: controller.signal,
      })
      const reader = res.body!.getReader()
      await reader.read()
      controller.abort()
      let receipt: Awaited<ReturnType<typeof storedReceipt>> | undefined
      for (let i = 0; i < 100 && !receipt; i++) {
        receipt = (await drained.store.get(res.headers.get('rma-receipt-id')!))?.receipt
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(receipt?.usageSource).toBe('reported')
      expect(receipt?.outputTokens).toBe(fakeUsage.output)
    } finally {
      await drained.close()
    }
  })
})

describe('bad input is answered in the OpenAI error shape and never forwarded', () => {
  const cases: [string, () => Promise<Response>, number, string][] = [
    [
      'no attestation',
      () =>
        fetch(`${app.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(chat()) }),
      401,
      'rma_attestation_missing',
    ],
    [
      'a malformed attestation',
      () =>
        fetch(`${app.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'rma-attestation': 'zz' },
          body: JSON.stringify(chat()),
        }),
      400,
      'rma_attestation_malformed',
    ],
    [
      'a body other than the one attested',
      async () => {
        const header = await attest(user, JSON.stringify(chat()))
        return fetch(`${app.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'rma-attestation': header },
          body: JSON.stringify(chat({ n: 2 })),
        })
      },
      400,
      'rma_request_hash_mismatch',
    ],
    [
      'an attestation signed by another key',
      async () => {
        const header = await attest(
          Wallet.createRandom() as unknown as Wallet,
          JSON.stringify(chat()),
        )
        const { decodeAttestation, encodeAttestation } = await import('@rma/core')
        const forged = encodeAttestation({
          ...decodeAttestation(header),
          user: user.address as Hex,
        })
        return fetch(`${app.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'rma-attestation': forged },
          body: JSON.stringify(chat()),
        })
      },
      401,
      'rma_attestation_invalid',
    ],
    [
      'an unpriced model',
      () => post('/v1/chat/completions', { ...chat(), model: 'gpt-unknown' }),
      400,
      'rma_model_not_priced',
    ],
    [
      'a body that is not JSON',
      () =>
        attestingFetch(user)(`${app.url}/v1/chat/completions`, {
          method: 'POST',
          body: 'not json',
        }),
      400,
      'rma_invalid_json',
    ],
  ]

  test.each(cases)('%s', async (_name, send, status, code) => {
    const forwarded = app.upstream.requests.length
    const res = await send()
    expect(res.status).toBe(status)
    const body = (await res.json()) as { error: { code: string; type: string; message: string } }
    expect(body.error.code).toBe(code)
    expect(typeof body.error.message).toBe('string')
    expect(app.upstream.requests.length).toBe(forwarded)
  })

  test('a replayed attestation is refused', async () => {
    const body = JSON.stringify(chat())
    const headers = { 'rma-attestation': await attest(user, body) }
    const first = await fetch(`${app.url}/v1/chat/completions`, { method: 'POST', headers, body })
    expect(first.status).toBe(200)
    const replay = await fetch(`${app.url}/v1/chat/completions`, { method: 'POST', headers, body })
    expect(replay.status).toBe(401)
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe(
      'rma_attestation_replayed',
    )
  })
})

describe('custodial identify and the /rma routes', () => {
  test('identify(req) maps an API key to a user address', async () => {
    const custodian = Wallet.createRandom().address as Hex
    const custodial = await createMeteredApp({
      store: createMemoryStore(),
      meter: {
        identify: (req) =>
          req.get('authorization') === 'Bearer app-key-1' ? custodian : undefined,
      },
      upstream: app.upstream,
    })
    try {
      const ok = await fetch(`${custodial.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer app-key-1' },
        body: JSON.stringify(chat()),
      })
      expect(decodeReceipt(ok.headers.get('rma-receipt')).user).toBe(custodian.toLowerCase())
      const denied = await fetch(`${custodial.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer other' },
        body: JSON.stringify(chat()),
      })
      expect(denied.status).toBe(401)
    } finally {
      await custodial.close()
    }
  })

  test('GET /rma/receipts lists a user, POST /rma/acks stores a verified ack', async () => {
    const res = await post('/v1/chat/completions', chat())
    const receipt = decodeReceipt(res.headers.get('rma-receipt'))
    const readAttestation = await attestWith(user, {
      requestHash: receiptListRequestHash,
      maxAmount: 0n,
      expiry: Math.floor(Date.now() / 1000) + 30,
    })
    const list = (await (
      await fetch(`${app.url}/rma/receipts?user=${user.address}`, {
        headers: { 'rma-attestation': readAttestation },
      })
    ).json()) as {
      data: ReceiptJSON[]
    }
    expect(list.data.map((r) => r.id)).toContain(res.headers.get('rma-receipt-id'))
    const { signAck, encodeAck, hashReceipt } = await import('@rma/core')
    const ack = await signAck({
      signer: user,
      domain: app.meter.config.domain,
      ack: {
        assetId: receipt.assetId,
        user: receipt.user,
        meter: receipt.meter,
        seq: receipt.seq,
        receiptHash: hashReceipt(receipt, app.meter.config.domain),
        cumulativeAmount: receipt.cumulativeAmount,
      },
    })
    const posted = await fetch(`${app.url}/rma/acks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ack: encodeAck(ack) }),
    })
    expect(posted.status).toBe(201)
    expect((await app.store.latestAck(receipt))?.seq).toBe(receipt.seq)
    const bad = await fetch(`${app.url}/rma/acks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ack: encodeAck({ ...ack, seq: ack.seq + 1 }) }),
    })
    expect(bad.status).toBe(401)
    const metrics = await (
      await fetch(`${app.url}/rma/metrics`, { headers: { authorization: 'Bearer sk-operator' } })
    ).text()
    expect(metrics).toMatch(/rma_receipts_total\{source="reported"\} \d+/)
    const health = (await (await fetch(`${app.url}/rma/health`)).json()) as {
      ok: boolean
      meter: string
    }
    expect(health).toMatchObject({ ok: true, meter: app.meterWallet.address })
  })
})

describe('openaiProxy alone', () => {
  test('without the meter (unmetered: forward) and without a body parser it forwards the exact body', async () => {
    const bare = express()
    bare.post(
      '/v1/*path',
      openaiProxy({ upstream: `${app.upstream.url}/v1`, unmetered: 'forward' }),
    )
    const server = bare.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const port = (server.address() as { port: number }).port
      const body = chat({ stream: true })
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify(body),
      })
      expect(res.headers.get('content-type')).toBe('text/event-stream')
      expect((await res.text()).endsWith('data: [DONE]\n\n')).toBe(true)
      expect(app.upstream.requests.at(-1)?.body).toMatchObject(body)
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})

describe('a store that fails', () => {
  test('the answer is withheld: a 503 in the OpenAI error shape, no receipt, and the meter emits error', async () => {
    const store = createMemoryStore()
    const failing = { ...store, append: () => Promise.reject(new Error('disk full')) }
    const broken = await createMeteredApp({ store: failing, upstream: app.upstream })
    const errors: string[] = []
    broken.meter.events.on('error', (e) => errors.push(e.message))
    try {
      const res = await attestingFetch(user)(`${broken.url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify(chat()),
      })
      expect(res.status).toBe(503)
      const body = (await res.json()) as { choices?: unknown; error: { code: string } }
      expect(body.choices).toBeUndefined()
      expect(body.error.code).toBe('rma_store_unavailable')
      expect(res.headers.get('rma-receipt')).toBeNull()
      expect(res.headers.get('rma-receipt-status')).toBeNull()
      expect(errors).toEqual(['disk full'])
    } finally {
      await broken.close()
    }
  })
})
