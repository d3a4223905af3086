import { once } from 'node:events'
import { request } from 'node:http'
import { canonicalPath, decodeReceipt } from '@rma/core'
import { attestWith, createFakeUpstream, fakeUsage } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import express from 'express'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { openaiProxy } from './openaiProxy.js'
import { rmaMeter } from './rmaMeter.js'
import {
  assetId,
  chainId,
  createMeteredApp,
  type MeteredApp,
  prices,
  settlementContract,
} from './testing/createMeteredApp.js'

let app: MeteredApp
const user = Wallet.createRandom() as unknown as Wallet
const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })

beforeAll(async () => {
  app = await createMeteredApp({ store: createMemoryStore() })
})
afterAll(() => app.close())

/** A POST with the path sent byte for byte (fetch would rewrite `\` and dots). */
async function rawPost(
  base: string,
  path: string,
  headers: Record<string, string>,
  payload = body,
): Promise<{
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
}> {
  const url = new URL(base)
  const req = request({
    host: url.hostname,
    port: url.port,
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', ...headers },
  })
  req.end(payload)
  const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage]
  const parts: Buffer[] = []
  for await (const chunk of res) parts.push(chunk as Buffer)
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    text: Buffer.concat(parts).toString(),
  }
}

/** Upstream calls carrying the provider's key, since `from`. */
const keyed = (from: number) =>
  app.upstream.requests.slice(from).filter((r) => r.headers.authorization === 'Bearer sk-upstream')

const attacks = [
  '/v1/chat\\completions',
  '/v1/chat/%63ompletions',
  '/v1/CHAT/COMPLETIONS',
  '/v1/chat/completions/.',
  '/v1/chat/completions%2F',
  '/v1/chat%2Fcompletions',
  '/v1/chat/completions;x',
  '/v1/chat/completions/%2e',
  '/v1/%2e%2e/v1/chat/completions',
  '/v1//chat//completions',
  '/v1/x/../chat/completions',
  '/v1/images/generations',
  '/v1/audio/speech',
  '/v1/files',
  '/v1/responses/abc/cancel',
  '/v1/chat/completions%3Bx',
  '/v1/chat/completions%00',
]

describe('bypass: every call the proxy would send upstream with the key is metered or refused', () => {
  test.each(attacks)(
    'unsigned POST %s: refused in OpenAI shape, nothing upstream',
    async (path) => {
      const from = app.upstream.requests.length
      const res = await rawPost(app.url, path, {})
      expect(res.status).toBeGreaterThanOrEqual(400)
      const error = (JSON.parse(res.text) as { error: { message: string; type: string } }).error
      expect(typeof error.message).toBe('string')
      expect(typeof error.type).toBe('string')
      expect(res.text).not.toMatch(/<html|at .*\.(ts|js):\d+/i)
      expect(app.upstream.requests.length).toBe(from)
    },
  )

  test.each(attacks)(
    'attested POST %s: served only with a receipt, and upstream sees the canonical path',
    async (path) => {
      const from = app.upstream.requests.length
      const res = await rawPost(app.url, path, {
        'rma-attestation': await attestWith(user, { body }),
      })
      const sent = keyed(from)
      if (res.status === 200) {
        const receipt = decodeReceipt(res.headers['rma-receipt'] as string)
        expect(receipt.user).toBe(user.address.toLowerCase())
        expect(receipt.inputTokens).toBe(fakeUsage.input)
        expect(sent.map((r) => r.path)).toEqual(['/v1/chat/completions'])
        expect(await app.store.get(res.headers['rma-receipt-id'] as string)).toBeDefined()
      } else {
        expect(res.status).toBeGreaterThanOrEqual(400)
        expect(sent).toEqual([])
      }
    },
  )

  test('paths with one canonical reading of a metered route are metered, the others refused', async () => {
    const served: string[] = []
    for (const path of attacks) {
      const res = await rawPost(app.url, path, {
        'rma-attestation': await attestWith(user, { body }),
      })
      if (res.status === 200) served.push(path)
    }
    expect(served).toEqual([
      '/v1/chat/%63ompletions',
      '/v1/CHAT/COMPLETIONS',
      '/v1/chat/completions/.',
      '/v1//chat//completions',
      '/v1/x/../chat/completions',
    ])
  })

  test('canonicalPath: one reading or none', () => {
    expect(canonicalPath('/v1/CHAT//completions/.?x=1')).toBe('/v1/chat/completions')
    expect(canonicalPath('/v1/chat/%63ompletions')).toBe('/v1/chat/completions')
    expect(canonicalPath('/a/./b/../c/')).toBe('/a/c')
    for (const path of [
      '/v1/chat\\completions',
      '/v1/chat%2Fcompletions',
      '/v1/a%5cb',
      '/v1/%2e',
      '/a;b',
      '/..',
      '/%2563',
      '/%zz',
      '/a#b',
    ])
      expect(canonicalPath(path)).toBeUndefined()
  })

  test('the proxy without the meter in front refuses to spend the key', async () => {
    const bare = express()
    bare.post(
      '/v1/*path',
      openaiProxy({ upstream: `${app.upstream.url}/v1`, apiKey: 'sk-upstream' }),
    )
    const server = bare.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const from = app.upstream.requests.length
      const res = await rawPost(
        `http://127.0.0.1:${(server.address() as { port: number }).port}`,
        '/v1/chat/completions',
        {},
      )
      expect(res.status).toBe(500)
      expect(JSON.parse(res.text)).toMatchObject({
        error: { code: 'rma_unmetered_call', type: 'server_error' },
      })
      expect(app.upstream.requests.length).toBe(from)
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })

  test('a custom handler behind the meter is metered on its canonical path, whatever the case', async () => {
    const store = createMemoryStore()
    const meter = rmaMeter({
      assetId,
      chainId,
      settlementContract,
      prices,
      store,
      signer: Wallet.createRandom().privateKey,
      route: (path, method) => (method === 'POST' && path === '/custom/chat' ? 'chat' : undefined),
    })
    const custom = express()
    custom.use(meter)
    let served = 0
    custom.post('/custom/chat', (_req, res) => {
      served++
      res.json({
        id: 'x',
        object: 'chat.completion',
        model: 'gpt-4o-mini',
        choices: [
          { index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
      })
    })
    const server = custom.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    try {
      const unsigned = await rawPost(base, '/CUSTOM/Chat', {})
      expect(unsigned.status).toBe(401)
      const encoded = await rawPost(base, '/custom/%63hat', {})
      expect(encoded.status).toBe(401)
      expect(served).toBe(0)
      const paid = await rawPost(base, '/CUSTOM/chat/', {
        'rma-attestation': await attestWith(user, { body }),
      })
      expect(paid.status).toBe(200)
      expect(served).toBe(1)
      expect(decodeReceipt(paid.headers['rma-receipt'] as string).outputTokens).toBe(1)
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })

  test('a route outside the allow-list is refused even when metered by a custom route', async () => {
    const upstream = await createFakeUpstream()
    const custom = await createMeteredApp({
      store: createMemoryStore(),
      upstream,
      meter: { route: (path) => (path.endsWith('/images/generations') ? 'chat' : undefined) },
    })
    try {
      const res = await rawPost(custom.url, '/v1/images/generations', {
        'rma-attestation': await attestWith(user, { body }),
      })
      expect(res.status).toBe(404)
      expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'rma_route_not_allowed' } })
      expect(upstream.requests).toEqual([])
    } finally {
      await custom.close()
      await upstream.close()
    }
  })
})
