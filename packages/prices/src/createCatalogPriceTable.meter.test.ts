/**
 * The catalog table in a real meter: `rmaMeter({ prices: createCatalogPriceTable(...) })` on
 * 127.0.0.1 in front of the fake OpenAI upstream (which reports 1,200 input tokens of which
 * 1,024 cached, 48 output tokens of which 16 reasoning), called with the official `openai`
 * client. Each expected amount is computed by hand from the catalog's published prices.
 */
import { createPriceTableTree, decodeReceipt, priceTableVersionAt } from '@rma/core'
import { attestingFetch, createMeteredApp, type MeteredApp } from '@rma/express/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCatalogPriceTable } from './createCatalogPriceTable.js'

let app: MeteredApp
let client: OpenAI
const user = Wallet.createRandom() as unknown as Wallet
const prices = createCatalogPriceTable({
  decimals: 6,
  overrides: { 'gpt-4o-mini': { input: 1_000_000n, output: 1_000_000n } },
})

beforeAll(async () => {
  app = await createMeteredApp({
    store: createMemoryStore(),
    meter: { prices },
  })
  client = new OpenAI({
    baseURL: `${app.url}/v1`,
    apiKey: 'sk-test',
    fetch: attestingFetch(user),
    maxRetries: 0,
  })
})
afterAll(async () => {
  await app.close()
})

async function receiptOf(model: string) {
  const { data, response } = await client.chat.completions
    .create({ model, messages: [{ role: 'user', content: 'Hi' }] })
    .withResponse()
  const receipt = decodeReceipt(response.headers.get('rma-receipt')!)
  return { data, receipt }
}

describe('a meter priced from the catalog', () => {
  it.each([
    // 176×2.5 + 1024×1.25 + 32×10 + 16×10 = 440 + 1280 + 320 + 160 (a catalog alias of gpt-4o)
    ['gpt-4o-2024-08-06', 2_200n],
    // the catalog prices this snapshot apart from gpt-4o; a committable table prices it as gpt-4o
    ['gpt-4o-2024-05-13', 2_200n],
    // 176×3 + 1024×0.3 + 32×15 + 16×15 = 528 + 307.2 + 480 + 240 = 1555.2 → 1556
    ['claude-sonnet-4-5', 1_556n],
    // the provider's override: 1 per token, 1200 + 48
    ['gpt-4o-mini', 1_248n],
  ])('%s is charged %s base units', async (model, amount) => {
    const { data, receipt } = await receiptOf(model)
    expect(data.model).toBe(model)
    expect(receipt.model).toBe(model)
    expect(receipt).toMatchObject({ inputTokens: 1200, cachedInputTokens: 1024, outputTokens: 48 })
    expect(receipt.amount).toBe(amount)
    // The receipt names the committed root of the catalog table's version in force.
    const at = priceTableVersionAt(prices, receipt.timestamp)!
    expect(receipt.priceTable).toBe(createPriceTableTree(prices, { at }).root)
  })

  it('refuses a model the catalog and the overrides leave unpriced, before the upstream', async () => {
    const before = app.upstream.requests.length
    const call = client.chat.completions.create({
      model: 'llama-3.3-70b-versatile',
      messages: [{ role: 'user', content: 'Hi' }],
    })
    await expect(call).rejects.toMatchObject({ status: 400, code: 'rma_model_not_priced' })
    // Nor does a case variant of a priced name slip through at another price.
    await expect(
      client.chat.completions.create({
        model: 'GPT-4O',
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    ).rejects.toMatchObject({ status: 400, code: 'rma_model_not_priced' })
    expect(app.upstream.requests.length).toBe(before)
  })
})
