import {
  createDomain,
  createPriceTable,
  createPriceTableTree,
  decodeAttestation,
  decodeReceipt,
  hashAttestation,
  zeroHash,
} from '@rma/core'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { priceTableRoot } from './priceTableRoot.js'
import { attestWith } from './testing/attestWith.js'
import {
  chainId,
  createMeteredApp,
  type MeteredApp,
  prices,
  settlementContract,
} from './testing/createMeteredApp.js'

let app: MeteredApp
const user = Wallet.createRandom() as unknown as Wallet

beforeAll(async () => {
  app = await createMeteredApp({ store: createMemoryStore() })
})
afterAll(async () => {
  await app.close()
})

test('a receipt names the committed root of the table version it was priced with and the digest of its attestation', async () => {
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
  const header = await attestWith(user, { body, maxAmount: 10n ** 9n })
  const res = await fetch(`${app.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'rma-attestation': header },
    body,
  })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  const receipt = decodeReceipt(res.headers.get('rma-receipt'))
  const domain = createDomain({ chainId, verifyingContract: settlementContract })
  expect(receipt.attestation).toBe(hashAttestation(decodeAttestation(header), domain))
  expect(receipt.priceTable).toBe(createPriceTableTree(prices, { at: receipt.timestamp }).root)
  expect(receipt.cacheWriteTokens).toBe(0)
})

test('priceTableRoot: one root per version in force; zero before any price and for a table that cannot be committed', () => {
  const table = createPriceTable({
    models: {
      m: [
        { effectiveFrom: 100, input: 1n, output: 2n },
        { effectiveFrom: 200, input: 3n, output: 4n },
      ],
    },
  })
  const v1 = createPriceTableTree(table, { at: 100 }).root
  const v2 = createPriceTableTree(table, { at: 200 }).root
  expect(v1).not.toBe(v2)
  expect(priceTableRoot(table, 99)).toBe(zeroHash)
  expect(priceTableRoot(table, 100)).toBe(v1)
  expect(priceTableRoot(table, 199)).toBe(v1)
  expect(priceTableRoot(table, 200)).toBe(v2)
  expect(priceTableRoot(table, 10 ** 9)).toBe(v2)
  // A snapshot priced unlike its base: no tree can be committed, the receipts name none.
  const unlike = createPriceTable({
    models: { m: { input: 1n, output: 1n }, 'm-2024-01-01': { input: 2n, output: 1n } },
  })
  expect(priceTableRoot(unlike, 0)).toBe(zeroHash)
})
