import { decodeReceipt } from '@rma/core'
import { worstCasePrice } from '@rma/meter'
import { attestWith } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createMeteredApp, type MeteredApp, prices } from './testing/createMeteredApp.js'

let app: MeteredApp
let strict: MeteredApp
const user = Wallet.createRandom() as unknown as Wallet
const price = prices.models.get('gpt-4o-mini')![0]!

beforeAll(async () => {
  app = await createMeteredApp({ store: createMemoryStore() })
  strict = await createMeteredApp({
    store: createMemoryStore(),
    upstream: app.upstream,
    meter: { defaultMaxOutputTokens: null },
  })
})
afterAll(async () => {
  await strict.close()
  await app.close()
})

const chat = (extra: object = {}) =>
  JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], ...extra })

async function send(
  target: MeteredApp,
  body: string,
  maxAmount: bigint,
  path = '/v1/chat/completions',
) {
  const from = target.upstream.requests.length
  const res = await fetch(`${target.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'rma-attestation': await attestWith(user, { body, maxAmount }),
    },
    body,
  })
  return { res, forwarded: target.upstream.requests.length - from }
}

type ErrorBody = { error: { message: string; type: string; code: string; param: null } }

describe('price: a call whose worst case exceeds maxAmount is refused up front', () => {
  test('maxAmount 0: 402 naming the amount needed, no answer, no upstream call, no receipt', async () => {
    const body = chat({ max_tokens: 100 })
    const { res, forwarded } = await send(app, body, 0n)
    expect(res.status).toBe(402)
    const need = worstCasePrice({
      endpoint: 'chat',
      body: JSON.parse(body),
      bodyBytes: body.length,
      price,
      defaultMaxOutputTokens: 16_384,
    }).amount
    expect(((await res.json()) as ErrorBody).error).toEqual({
      message: `This call can cost up to ${need} base units but the attestation allows 0. The worst case counts ${body.length} input tokens (one per body byte) and 100 output tokens of gpt-4o-mini: sign a maxAmount of at least ${need}, or lower the max tokens.`,
      type: 'invalid_request_error',
      code: 'rma_insufficient_max_amount',
      param: null,
    })
    expect(forwarded).toBe(0)
    expect(await app.store.listByUser({ user: user.address as `0x${string}` })).toEqual([])
  })

  test('maxAmount 1 for a 10M-token call: 402, nothing served', async () => {
    const { res, forwarded } = await send(app, chat({ max_tokens: 10_000_000 }), 1n)
    expect(res.status).toBe(402)
    expect(((await res.json()) as ErrorBody).error.message).toMatch(
      /can cost up to 6000\d+ base units but the attestation allows 1\./,
    )
    expect(forwarded).toBe(0)
  })

  test('no max-tokens bound: priced at the default max output, so a small cap is refused', async () => {
    const body = chat()
    const need = worstCasePrice({
      endpoint: 'chat',
      body: JSON.parse(body),
      bodyBytes: body.length,
      price,
      defaultMaxOutputTokens: 16_384,
    }).amount
    const low = await send(app, body, need - 1n)
    expect(low.res.status).toBe(402)
    expect(low.forwarded).toBe(0)
    const enough = await send(app, body, need)
    expect(enough.res.status).toBe(200)
    expect(decodeReceipt(enough.res.headers.get('rma-receipt')).amount <= need).toBe(true)
  })

  test.each([
    [{ max_tokens: '10000000' }, 'max_tokens'],
    [{ max_completion_tokens: 1.5 }, 'max_completion_tokens'],
    [{ max_tokens: 10, n: '100' }, 'n'],
    [{ max_tokens: -1 }, 'max_tokens'],
  ])('a bound the meter cannot read is refused, not guessed: %j', async (extra, name) => {
    const { res, forwarded } = await send(app, chat(extra), 10n ** 12n)
    expect(res.status).toBe(400)
    expect(((await res.json()) as ErrorBody).error).toMatchObject({
      code: 'rma_invalid_count',
      message: `\`${name}\` must be a positive integer.`,
    })
    expect(forwarded).toBe(0)
  })

  test('n multiplies the output bound', async () => {
    const one = chat({ max_tokens: 1000 })
    const many = chat({ max_tokens: 1000, n: 8 })
    const needOne = worstCasePrice({
      endpoint: 'chat',
      body: JSON.parse(one),
      bodyBytes: one.length,
      price,
      defaultMaxOutputTokens: undefined,
    }).amount
    const { res, forwarded } = await send(app, many, needOne + 10n)
    expect(res.status).toBe(402)
    expect(forwarded).toBe(0)
  })

  test('with defaultMaxOutputTokens null a request without a bound is refused (400), one with a bound served', async () => {
    const unbounded = await send(strict, chat(), 10n ** 12n)
    expect(unbounded.res.status).toBe(400)
    expect(((await unbounded.res.json()) as ErrorBody).error.code).toBe('rma_max_tokens_required')
    expect(unbounded.forwarded).toBe(0)
    const bounded = await send(strict, chat({ max_completion_tokens: 50 }), 10n ** 12n)
    expect(bounded.res.status).toBe(200)
  })

  test('the Responses API bounds by max_output_tokens, embeddings by input alone', async () => {
    const responses = JSON.stringify({
      model: 'gpt-4o-mini',
      input: 'Hi',
      max_output_tokens: 5_000_000,
    })
    const refused = await send(app, responses, 1000n, '/v1/responses')
    expect(refused.res.status).toBe(402)
    expect(refused.forwarded).toBe(0)
    const embed = JSON.stringify({ model: 'text-embedding-3-small', input: 'Hi' })
    const served = await send(app, embed, 1n, '/v1/embeddings')
    expect(served.res.status).toBe(200)
  })
})

describe('worstCasePrice', () => {
  test('bytes as input tokens at the input price, max output × choices at the higher output price, rounded up', () => {
    const table = {
      input: 1_000_000n,
      cachedInput: 0n,
      cacheWrite: 1_000_000n,
      output: 2_000_000n,
      reasoning: 3_000_000n,
    }
    expect(
      worstCasePrice({
        endpoint: 'chat',
        body: { max_tokens: 10, n: 2 },
        bodyBytes: 7,
        price: table,
        defaultMaxOutputTokens: undefined,
      }),
    ).toEqual({ amount: 7n + 60n, inputTokens: 7, outputTokens: 20 })
    expect(
      worstCasePrice({
        endpoint: 'completions',
        body: { max_tokens: 4, best_of: 3, n: 2 },
        bodyBytes: 1,
        price: table,
        defaultMaxOutputTokens: undefined,
      }).outputTokens,
    ).toBe(12)
    expect(
      worstCasePrice({
        endpoint: 'embeddings',
        body: {},
        bodyBytes: 3,
        price: { ...table, input: 1n, cacheWrite: 1n },
        defaultMaxOutputTokens: undefined,
      }).amount,
    ).toBe(1n)
    expect(
      worstCasePrice({
        endpoint: 'responses',
        body: { max_tokens: 9 },
        bodyBytes: 0,
        price: table,
        defaultMaxOutputTokens: 5,
      }).outputTokens,
    ).toBe(5)
  })

  test('input bytes are bounded at the dearest input price: a cache write dearer than input counts', () => {
    const price = {
      input: 1_000_000n,
      cachedInput: 100_000n,
      cacheWrite: 1_250_000n,
      output: 2_000_000n,
      reasoning: 2_000_000n,
    }
    const worst = (p: typeof price) =>
      worstCasePrice({
        endpoint: 'chat',
        body: { max_tokens: 10 },
        bodyBytes: 8,
        price: p,
        defaultMaxOutputTokens: undefined,
      }).amount
    // 8 × 1.25 + 10 × 2 = 30
    expect(worst(price)).toBe(30n)
    // a cache read dearer than input (odd, but allowed) bounds input too: 8 × 3 + 20 = 44
    expect(worst({ ...price, cachedInput: 3_000_000n })).toBe(44n)
    // cheaper cache prices leave input at its own price: 8 + 20 = 28
    expect(worst({ ...price, cacheWrite: 500_000n })).toBe(28n)
  })
})
