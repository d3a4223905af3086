import { decodeReceipt } from '@rma/core'
import { createMeter } from '@rma/meter'
import {
  assetId,
  attestWith,
  chainId,
  prices,
  type ServedFetch,
  serveFetch,
  settlementContract,
} from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { withRmaMeter } from './withRmaMeter.js'

const user = Wallet.createRandom() as unknown as Wallet
const body = JSON.stringify({ model: 'gpt-4o-mini', prompt: 'Hi', max_tokens: 4 })
let handled = 0
let served: ServedFetch
let url: string

// app/v1/completions/route.ts, served as `next start` would: Node request in, web Request to
// the route handler, its web Response written back.
const POST = withRmaMeter(
  createMeter({
    assetId,
    chainId,
    settlementContract,
    prices,
    store: createMemoryStore(),
    signer: Wallet.createRandom().privateKey,
  }),
  async (request, call) => {
    handled++
    expect(await request.text()).toBe(body)
    return Response.json({
      id: 'cmpl-1',
      object: 'text_completion',
      model: 'gpt-4o-mini',
      choices: [{ text: `hi ${call?.user}`, index: 0, finish_reason: 'stop' }],
      usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 },
    })
  },
)

beforeAll(async () => {
  served = await serveFetch(POST)
  url = `${served.url}/v1/completions`
})
afterAll(() => served.close())

test('withRmaMeter: an attested call reaches the route handler with its call and gets a receipt header', async () => {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'rma-attestation': await attestWith(user, { body }),
    },
    body,
  })
  expect(res.status).toBe(200)
  expect(((await res.json()) as { choices: { text: string }[] }).choices[0]?.text).toBe(
    `hi ${user.address.toLowerCase()}`,
  )
  expect(decodeReceipt(res.headers.get('rma-receipt'))).toMatchObject({
    inputTokens: 2,
    outputTokens: 2,
  })
})

test('withRmaMeter, attack: a maxAmount below the worst case is refused (402) and the handler never runs', async () => {
  const before = handled
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'rma-attestation': await attestWith(user, { body, maxAmount: 1n }),
    },
    body,
  })
  expect(res.status).toBe(402)
  expect(await res.json()).toMatchObject({ error: { code: 'rma_insufficient_max_amount' } })
  expect(handled).toBe(before)
})
