import { once } from 'node:events'
import { type IncomingMessage, request } from 'node:http'
import type { ClaimNonceParameters, ReceiptStore } from '@rma/core'
import { attestWith } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createMeteredApp, type MeteredApp } from './testing/createMeteredApp.js'

let app: MeteredApp
const claims: ClaimNonceParameters[] = []
const user = Wallet.createRandom() as unknown as Wallet
const MiB = 1024 * 1024

beforeAll(async () => {
  const store = createMemoryStore()
  const recording: ReceiptStore = {
    ...store,
    claimNonce: (parameters) => {
      claims.push(parameters)
      return store.claimNonce(parameters)
    },
  }
  app = await createMeteredApp({
    store: recording,
    meter: { maxBodyBytes: 1 * MiB, bodyTimeoutMs: 300 },
  })
})
afterAll(() => app.close())

/**
 * Sends the headers and `sent` bytes of a body announced as `declared` bytes (or chunked), and
 * never the rest: resolves with the answer the meter gives without the full body, and whether
 * the server then closed the connection.
 */
async function partialPost(
  headers: Record<string, string>,
  sent: Buffer,
  declared?: number,
): Promise<{ status: number; body: string; closed: boolean }> {
  const url = new URL(app.url)
  const req = request({
    host: url.hostname,
    port: url.port,
    method: 'POST',
    path: '/v1/chat/completions',
    headers: {
      'content-type': 'application/json',
      ...(declared === undefined ? {} : { 'content-length': String(declared) }),
      ...headers,
    },
  })
  req.on('error', () => undefined)
  req.write(sent)
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  const parts: Buffer[] = []
  for await (const chunk of res) parts.push(chunk as Buffer)
  const closed = await new Promise<boolean>((resolve) => {
    if (req.socket?.destroyed) return resolve(true)
    req.socket?.once('close', () => resolve(true))
    setTimeout(() => resolve(req.socket?.destroyed === true), 5000)
  })
  req.destroy()
  return { status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), closed }
}

const codeOf = (body: string) => (JSON.parse(body) as { error: { code: string } }).error.code

describe('cheap checks first: a refused request costs the meter its headers, not its body', () => {
  test('an unsigned 1 MiB body is refused from the headers before the body is sent', async () => {
    const from = app.upstream.requests.length
    const answer = await partialPost({}, Buffer.from('{"model":"gpt-4o-mini",'), 1 * MiB)
    expect(answer.status).toBe(401)
    expect(codeOf(answer.body)).toBe('rma_attestation_missing')
    expect(answer.closed).toBe(true)
    expect(app.upstream.requests.length).toBe(from)
  })

  test('a forged attestation is refused before the body is sent', async () => {
    const forger = Wallet.createRandom() as unknown as Wallet
    const header = await attestWith(forger, { body: 'x', chainId: 1 })
    const answer = await partialPost({ 'rma-attestation': header }, Buffer.from('{'), 1 * MiB)
    expect(answer.status).toBe(401)
    expect(codeOf(answer.body)).toBe('rma_attestation_invalid')
    expect(answer.closed).toBe(true)
  })

  test('an expired attestation is refused before the body is sent', async () => {
    const header = await attestWith(user, {
      body: 'x',
      expiry: Math.floor(Date.now() / 1000) - 100,
    })
    const answer = await partialPost({ 'rma-attestation': header }, Buffer.from('{'), 1 * MiB)
    expect(codeOf(answer.body)).toBe('rma_attestation_expired')
  })

  test('a content-length over the limit is refused (413) before a byte is read, and the connection closed', async () => {
    const header = await attestWith(user, { body: 'x' })
    const answer = await partialPost({ 'rma-attestation': header }, Buffer.from('{'), 10 * MiB)
    expect(answer.status).toBe(413)
    expect(codeOf(answer.body)).toBe('rma_body_too_large')
    expect(answer.closed).toBe(true)
  })

  test('a chunked body growing past the limit is refused as soon as it does', async () => {
    const header = await attestWith(user, { body: 'x' })
    const answer = await partialPost({ 'rma-attestation': header }, Buffer.alloc(MiB + 1024, 32))
    expect(answer.status).toBe(413)
    expect(answer.closed).toBe(true)
  })

  test('a body that stops arriving is cut at the body timeout (408), the connection closed, nothing forwarded', async () => {
    const from = app.upstream.requests.length
    const header = await attestWith(user, { body: 'x' })
    const answer = await partialPost({ 'rma-attestation': header }, Buffer.from('{"model":'), 4096)
    expect(answer.status).toBe(408)
    expect(codeOf(answer.body)).toBe('rma_body_timeout')
    expect(answer.closed).toBe(true)
    expect(app.upstream.requests.length).toBe(from)
  })

  test('none of the refused requests above claimed a nonce', () => {
    expect(claims).toEqual([])
  })
})
