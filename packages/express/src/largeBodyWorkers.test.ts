import { type IncomingMessage, request } from 'node:http'
import { type Address, type ClaimNonceParameters, hashBytes, type ReceiptStore } from '@rma/core'
import { MeterError } from '@rma/meter'
import { attestWith } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createBodyWorkerPool } from './createBodyWorkerPool.js'
import { bodyWorkerPoolOf } from './rmaMeter.js'
import { createMeteredApp, type MeteredApp } from './testing/createMeteredApp.js'

const KiB = 1024
const MiB = 1024 * KiB

/** A chat body of about `bytes` bytes, with odd whitespace (its hash is of these exact bytes). */
function chatBody(bytes: number, extra = ''): string {
  return `{ "model" : "gpt-4o-mini",\n\t"max_tokens":16 ,"messages":[{"role":"user","content":"${'lorem ipsum '.repeat(bytes / 12)}"}]${extra}}`
}

function recordingStore(claims: ClaimNonceParameters[]): ReceiptStore {
  const store = createMemoryStore()
  return {
    ...store,
    claimNonce: (parameters) => {
      claims.push(parameters)
      return store.claimNonce(parameters)
    },
  }
}

async function post(app: MeteredApp, user: Wallet, body: string) {
  const header = await attestWith(user, { body, maxAmount: 10n ** 15n })
  const response = await fetch(`${app.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'rma-attestation': header },
    body,
  })
  return { response, text: await response.text() }
}

/**
 * Sends an attested body's headers and its first `sent` bytes (all of it by default), then
 * closes the connection without waiting for an answer, as a client that gives up does.
 */
async function abandon(app: MeteredApp, user: Wallet, body: string, sent = body.length) {
  const header = await attestWith(user, { body, maxAmount: 10n ** 15n })
  const url = new URL(app.url)
  const req = request({
    host: url.hostname,
    port: url.port,
    method: 'POST',
    path: '/v1/chat/completions',
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'rma-attestation': header,
    },
  })
  req.on('error', () => undefined)
  req.on('response', (res: IncomingMessage) => res.resume())
  await new Promise<void>((resolve) =>
    req.write(Buffer.from(body).subarray(0, sent), () => resolve()),
  )
  // Part of a body: let the server read what was sent (and admit it), then leave. A whole
  // body: leave at once, as the bench's attackers do.
  if (sent < body.length) await new Promise((resolve) => setTimeout(resolve, 100))
  const closed = new Promise((resolve) => req.once('close', resolve))
  req.destroy()
  await closed
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 400))

describe('createBodyWorkerPool: large bodies hashed and parsed on a thread of their own', () => {
  const pool = createBodyWorkerPool({ size: 1 })
  afterAll(() => pool.close())

  test('the hash is hashBytes of the exact bytes; only the metered members come back; the bytes are the same', async () => {
    const text = chatBody(2 * MiB, ',"stream":true,"stream_options":{"include_usage":false}')
    const processed = await pool.process(Buffer.from(text))
    expect(processed.hash).toBe(hashBytes(text))
    expect(processed.fields).toEqual({
      model: 'gpt-4o-mini',
      max_tokens: 16,
      stream: true,
      stream_options: { include_usage: false },
    })
    expect(processed.raw.equals(Buffer.from(text))).toBe(true)
    expect(processed.busyMs).toBeGreaterThan(0)
  })

  test('not a JSON object: no fields, still the hash', async () => {
    for (const text of ['[1,2]', '{"model":', '"x"']) {
      const processed = await pool.process(Buffer.from(text))
      expect(processed.fields).toBeUndefined()
      expect(processed.hash).toBe(hashBytes(text))
    }
  })

  test('a thread that dies on a body fails that body (503) and only it; the next gets a new thread; never more threads than the size', async () => {
    const first = Buffer.from(chatBody(2 * MiB))
    const second = Buffer.from(chatBody(64 * KiB))
    const secondHash = hashBytes(second)
    const outcomes = Promise.allSettled([pool.process(first), pool.process(second)])
    // The first body is on the only thread now: kill it.
    expect(pool.threads()).toHaveLength(1)
    await pool.threads()[0]!.terminate()
    const [killed, next] = await outcomes
    expect(killed.status).toBe('rejected')
    const error = (killed as PromiseRejectedResult).reason
    expect(error).toBeInstanceOf(MeterError)
    expect((error as MeterError).status).toBe(503)
    expect((error as MeterError).code).toBe('rma_body_worker_failed')
    expect(next.status).toBe('fulfilled')
    expect((next as PromiseFulfilledResult<{ hash: string }>).value.hash).toBe(secondHash)
    expect(pool.threads().length).toBe(1)
  })
})

describe('the meter with its body threads: attacks on large bodies', () => {
  let app: MeteredApp
  const claims: ClaimNonceParameters[] = []
  const receiptsOf = (user: Wallet) =>
    app.store.listByUser({ user: user.address.toLowerCase() as Address })

  beforeAll(async () => {
    // The default budget and threads; bodies over 64 KiB are large.
    app = await createMeteredApp({
      store: recordingStore(claims),
      meter: { largeBodyBytes: 64 * KiB, maxBodyBytes: 8 * MiB },
    })
  })
  afterAll(() => app.close())

  test('an honest large body is served with its receipt, the upstream gets the body as sent', async () => {
    const user = Wallet.createRandom() as unknown as Wallet
    const body = chatBody(512 * KiB)
    const from = app.upstream.requests.length
    const { response } = await post(app, user, body)
    expect(response.status).toBe(200)
    expect(response.headers.get('rma-receipt')).toBeTruthy()
    expect(app.upstream.requests.length).toBe(from + 1)
    expect(app.upstream.requests.at(-1)!.body).toEqual(JSON.parse(body))
    expect(await receiptsOf(user)).toHaveLength(1)
  })

  test('a large body signed for other bytes is refused (400) after its hash off-thread, nothing forwarded or claimed', async () => {
    const user = Wallet.createRandom() as unknown as Wallet
    const body = chatBody(256 * KiB)
    const header = await attestWith(user, { body: `${body} `, maxAmount: 10n ** 15n })
    const from = app.upstream.requests.length
    const claimed = claims.length
    const response = await fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'rma-attestation': header },
      body,
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'rma_request_hash_mismatch',
    )
    expect(app.upstream.requests.length).toBe(from)
    expect(claims.length).toBe(claimed)
  })

  test('a body whose thread dies on it gets a JSON 503, no forward, no nonce, no receipt; the same user is served next', async () => {
    const user = Wallet.createRandom() as unknown as Wallet
    const pool = bodyWorkerPoolOf(app.meter)!
    const process = pool.process
    // The thread dies while it has this body (as on a crash in the hasher or the parser): its
    // answer, if it gets one out before the end, is never delivered, so the death always wins.
    pool.process = (raw) => {
      const processed = process(raw)
      for (const worker of pool.threads()) {
        const emit = worker.emit
        worker.emit = function (this: typeof worker, event: string | symbol, ...args: unknown[]) {
          if (event === 'message') return true
          return emit.call(this, event, ...args)
        } as typeof worker.emit
        void worker.terminate()
      }
      pool.process = process
      return processed
    }
    const from = app.upstream.requests.length
    const claimed = claims.length
    const { response, text } = await post(app, user, chatBody(1 * MiB))
    expect(response.status).toBe(503)
    expect(JSON.parse(text)).toMatchObject({
      error: { type: 'server_error', code: 'rma_body_worker_failed' },
    })
    expect(app.upstream.requests.length).toBe(from)
    expect(claims.length).toBe(claimed)
    expect(await receiptsOf(user)).toHaveLength(0)
    const next = await post(app, user, chatBody(256 * KiB))
    expect(next.response.status).toBe(200)
    expect(await receiptsOf(user)).toHaveLength(1)
  })

  test('a client that leaves mid-upload frees the budget at once: nothing forwarded, claimed or charged, and the next large body is admitted', async () => {
    // A meter of its own, so the abandoned body is its first large one: the budget admits one
    // large body at a time until it has measured one, so a leaked admission would refuse every
    // later large body with 429. A budget of 1 leaves that rule as the only one in play.
    const claimed: ClaimNonceParameters[] = []
    const own = await createMeteredApp({
      store: recordingStore(claimed),
      meter: { largeBodyBytes: 64 * KiB, maxBodyBytes: 8 * MiB, largeBodyBudget: 1 },
    })
    try {
      const attacker = Wallet.createRandom() as unknown as Wallet
      const honest = Wallet.createRandom() as unknown as Wallet
      await abandon(own, attacker, chatBody(2 * MiB), 512 * KiB)
      const next = await post(own, honest, chatBody(512 * KiB))
      expect(next.response.status).toBe(200)
      expect(own.upstream.requests).toHaveLength(1)
      expect(claimed).toHaveLength(1)
      expect(
        await own.store.listByUser({ user: attacker.address.toLowerCase() as Address }),
      ).toHaveLength(0)
    } finally {
      await own.close()
    }
  })

  test('a client that sends a whole large prompt and leaves before the answer: nothing forwarded, no nonce claimed, no receipt', async () => {
    const attacker = Wallet.createRandom() as unknown as Wallet
    for (let round = 0; round < 3; round++) {
      const from = app.upstream.requests.length
      const claimed = claims.length
      await abandon(app, attacker, chatBody(2 * MiB, ',"stream":true'))
      await settle()
      expect(app.upstream.requests.length).toBe(from)
      expect(claims.length).toBe(claimed)
    }
    expect(await receiptsOf(attacker)).toHaveLength(0)
    const honest = Wallet.createRandom() as unknown as Wallet
    expect((await post(app, honest, chatBody(512 * KiB))).response.status).toBe(200)
  })
})
