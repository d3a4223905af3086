import {
  type Address,
  decodeReceipt,
  encodeAck,
  type Hex,
  hashReceipt,
  type ReceiptStore,
  signAck,
} from '@rma/core'
import type { ReceiptJSON } from '@rma/meter'
import { receiptListRequestHash } from '@rma/meter'
import { attestWith } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createMeteredApp, type MeteredApp } from './testing/createMeteredApp.js'

let app: MeteredApp
let store: ReceiptStore
let listFails = false
const alice = Wallet.createRandom() as unknown as Wallet
const mallory = Wallet.createRandom() as unknown as Wallet
const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
let aliceReceiptId: string

beforeAll(async () => {
  const memory = createMemoryStore()
  store = {
    ...memory,
    listByUser: (parameters) =>
      listFails
        ? Promise.reject(new Error('ECONNREFUSED /var/lib/rma/secret.db'))
        : memory.listByUser(parameters),
  }
  app = await createMeteredApp({ store, router: { operatorToken: 'sk-operator' } })
  const res = await paid(alice)
  aliceReceiptId = res.headers.get('rma-receipt-id')!
  await paid(mallory)
})
afterAll(() => app.close())

async function paid(user: Wallet, headers: Record<string, string> = {}) {
  return fetch(`${app.url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'rma-attestation': await attestWith(user, { body }),
      ...headers,
    },
    body,
  })
}

const readAs = (
  user: Wallet,
  extra: { maxAmount?: bigint; expiry?: number; requestHash?: Hex } = {},
) =>
  attestWith(user, {
    requestHash: extra.requestHash ?? receiptListRequestHash,
    maxAmount: extra.maxAmount ?? 0n,
    expiry: extra.expiry ?? Math.floor(Date.now() / 1000) + 30,
  })

const list = (user: Wallet | Address, headers: Record<string, string> = {}) =>
  fetch(`${app.url}/rma/receipts?user=${typeof user === 'string' ? user : user.address}`, {
    headers,
  })

type ErrorBody = { error: { message: string; type: string; code: string; param: null } }

describe('/rma/receipts: a user reads only its own receipts', () => {
  test('anonymous listing is refused (401) and shows nothing', async () => {
    const res = await list(alice)
    expect(res.status).toBe(401)
    const text = await res.text()
    expect((JSON.parse(text) as ErrorBody).error.code).toBe('rma_read_unauthenticated')
    expect(text).not.toContain(aliceReceiptId)
  })

  test("mallory's own read attestation does not open alice's receipts (403)", async () => {
    const res = await list(alice, { 'rma-attestation': await readAs(mallory) })
    expect(res.status).toBe(403)
    expect(await res.text()).not.toContain(aliceReceiptId)
  })

  test('a paid-call attestation, a read attestation with a cap, or a long-lived one is no read pass', async () => {
    const cases = [
      await attestWith(alice, { body }),
      await readAs(alice, { maxAmount: 1n }),
      await readAs(alice, { expiry: Math.floor(Date.now() / 1000) + 600 }),
    ]
    for (const header of cases) {
      const res = await list(alice, { 'rma-attestation': header })
      expect(res.status).toBeGreaterThanOrEqual(400)
      expect(await res.text()).not.toContain(aliceReceiptId)
    }
  })

  test('alice with her read attestation gets her receipts and only hers', async () => {
    const res = await list(alice, { 'rma-attestation': await readAs(alice) })
    expect(res.status).toBe(200)
    const { data } = (await res.json()) as { data: ReceiptJSON[] }
    expect(data.map((r) => r.id)).toEqual([aliceReceiptId])
  })

  test('a read attestation replayed as a paid call is refused and forwards nothing', async () => {
    const from = app.upstream.requests.length
    const res = await fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'rma-attestation': await readAs(alice) },
      body,
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as ErrorBody).error.code).toBe('rma_request_hash_mismatch')
    expect(app.upstream.requests.length).toBe(from)
  })

  test('custodial mode: identify(req) lets an end user list its own receipts, not another one', async () => {
    const custodian = Wallet.createRandom().address as Address
    const custodial = await createMeteredApp({
      store: createMemoryStore(),
      upstream: app.upstream,
      meter: {
        identify: (req) =>
          req.get('authorization') === 'Bearer app-key-1' ? custodian : undefined,
      },
    })
    try {
      const paidCall = await fetch(`${custodial.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer app-key-1' },
        body,
      })
      const id = paidCall.headers.get('rma-receipt-id')
      const own = await fetch(`${custodial.url}/rma/receipts?user=${custodian}`, {
        headers: { authorization: 'Bearer app-key-1' },
      })
      expect(own.status).toBe(200)
      expect(((await own.json()) as { data: ReceiptJSON[] }).data.map((r) => r.id)).toEqual([id])
      const other = await fetch(`${custodial.url}/rma/receipts?user=${custodian}`, {
        headers: { authorization: 'Bearer app-key-2' },
      })
      expect(other.status).toBe(401)
      expect(await other.text()).not.toContain(id!)
    } finally {
      await custodial.close()
    }
  })

  test('the operator token lists any user', async () => {
    const res = await list(alice, { authorization: 'Bearer sk-operator' })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { data: ReceiptJSON[] }).data).toHaveLength(1)
    expect((await list(alice, { authorization: 'Bearer sk-operatoR' })).status).toBe(401)
  })

  test('a store error is a 503 in JSON, without the store message', async () => {
    listFails = true
    try {
      const res = await list(alice, { authorization: 'Bearer sk-operator' })
      expect(res.status).toBe(503)
      const text = await res.text()
      expect((JSON.parse(text) as ErrorBody).error.code).toBe('rma_store_unavailable')
      expect(text).not.toMatch(/secret\.db|ECONNREFUSED|at .*\.(ts|js)/)
    } finally {
      listFails = false
    }
  })
})

describe('/rma/metrics: for the operator only', () => {
  test('without the token: 401; with it: the metrics', async () => {
    const denied = await fetch(`${app.url}/rma/metrics`)
    expect(denied.status).toBe(401)
    expect(await denied.text()).not.toContain('rma_revenue')
    const allowed = await fetch(`${app.url}/rma/metrics`, {
      headers: { authorization: 'Bearer sk-operator' },
    })
    expect(allowed.status).toBe(200)
    expect(await allowed.text()).toMatch(/rma_revenue_base_units_total \d+/)
  })

  test('without an operator token metrics are off (404) unless made public', async () => {
    const plain = await createMeteredApp({ store: createMemoryStore(), upstream: app.upstream })
    const open = await createMeteredApp({
      store: createMemoryStore(),
      upstream: app.upstream,
      router: { metrics: 'public' },
    })
    try {
      expect((await fetch(`${plain.url}/rma/metrics`)).status).toBe(404)
      expect((await fetch(`${open.url}/rma/metrics`)).status).toBe(200)
    } finally {
      await plain.close()
      await open.close()
    }
  })
})

describe('/rma/acks and the rma-ack header: JSON errors, and only acks of stored receipts', () => {
  test.each([
    ['malformed JSON', '{"ack": ', 'application/json', 400, 'rma_invalid_json'],
    [
      'an oversized body',
      `{"ack":"${'a'.repeat(40_000)}"}`,
      'application/json',
      413,
      'rma_body_too_large',
    ],
    ['an ack that is not a string', '{"ack": 5}', 'application/json', 400, 'rma_ack_malformed'],
    ['an empty body', '', 'application/json', 400, 'rma_ack_malformed'],
  ])('%s: %i in OpenAI shape, no HTML, no stack', async (_name, payload, type, status, code) => {
    const res = await fetch(`${app.url}/rma/acks`, {
      method: 'POST',
      headers: { 'content-type': type },
      body: payload,
    })
    expect(res.status).toBe(status)
    expect(res.headers.get('content-type')).toMatch(/application\/json/)
    const text = await res.text()
    expect((JSON.parse(text) as ErrorBody).error.code).toBe(code)
    expect(text).not.toMatch(/<html|<pre>|node_modules|at .*\.(ts|js):\d+/i)
  })

  test('a signed ack of a receipt that does not exist (seq 2^53−1) is refused and does not override the genuine ack', async () => {
    const receipt = (await store.get(aliceReceiptId))!.receipt
    const domain = app.meter.config.domain
    const genuine = await signAck({
      signer: alice,
      domain,
      ack: {
        assetId: receipt.assetId,
        user: receipt.user,
        meter: receipt.meter,
        seq: receipt.seq,
        receiptHash: hashReceipt(receipt, domain),
        cumulativeAmount: receipt.cumulativeAmount,
      },
    })
    const post = (ack: string) =>
      fetch(`${app.url}/rma/acks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ack }),
      })
    expect((await post(encodeAck(genuine))).status).toBe(201)
    const bogus = await signAck({
      signer: alice,
      domain,
      ack: {
        assetId: receipt.assetId,
        user: receipt.user,
        meter: receipt.meter,
        seq: Number.MAX_SAFE_INTEGER,
        receiptHash: `0x${'77'.repeat(32)}`,
        cumulativeAmount: receipt.cumulativeAmount,
      },
    })
    const res = await post(encodeAck(bogus))
    expect(res.status).toBe(404)
    expect(((await res.json()) as ErrorBody).error.code).toBe('rma_ack_unknown_receipt')
    const chain = { assetId: receipt.assetId, meter: receipt.meter, user: receipt.user }
    expect((await store.latestAck(chain))?.seq).toBe(receipt.seq)
    // The same bogus ack on a paid call: refused, nothing forwarded.
    const from = app.upstream.requests.length
    const call = await paid(alice, { 'rma-ack': encodeAck(bogus) })
    expect(call.status).toBe(404)
    expect(app.upstream.requests.length).toBe(from)
    expect((await store.latestAck(chain))?.seq).toBe(receipt.seq)
  })
})

describe('the proxy and the caller’s billing headers', () => {
  test("the caller's openai-organization / openai-project never travel with the provider key", async () => {
    const from = app.upstream.requests.length
    const res = await paid(alice, {
      'openai-organization': 'org-victim',
      'openai-project': 'proj-victim',
    })
    expect(res.status).toBe(200)
    expect(decodeReceipt(res.headers.get('rma-receipt')).user).toBe(alice.address.toLowerCase())
    const sent = app.upstream.requests.slice(from)
    expect(sent).toHaveLength(1)
    expect(sent[0]!.headers.authorization).toBe('Bearer sk-upstream')
    expect(sent[0]!.headers['openai-organization']).toBeUndefined()
    expect(sent[0]!.headers['openai-project']).toBeUndefined()
  })

  test('the provider’s own organization and project are sent instead', async () => {
    const own = await createMeteredApp({
      store: createMemoryStore(),
      upstream: app.upstream,
      proxy: { organization: 'org-provider', project: 'proj-provider' },
    })
    try {
      const from = app.upstream.requests.length
      const res = await fetch(`${own.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          'rma-attestation': await attestWith(alice, { body }),
          'openai-organization': 'org-victim',
        },
        body,
      })
      expect(res.status).toBe(200)
      expect(app.upstream.requests[from]!.headers['openai-organization']).toBe('org-provider')
      expect(app.upstream.requests[from]!.headers['openai-project']).toBe('proj-provider')
    } finally {
      await own.close()
    }
  })
})
