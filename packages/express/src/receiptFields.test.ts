import {
  createPriceTable,
  createPriceTableTree,
  decodeAttestation,
  decodeReceipt,
  hashAttestation,
  verifyReceipt,
  zeroHash,
} from '@rma/core'
import { MeterError } from '@rma/meter'
import { attestWith } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { describe, expect, test } from 'vitest'
import { rmaMeter } from './rmaMeter.js'
import {
  assetId,
  chainId,
  createMeteredApp,
  prices,
  settlementContract,
} from './testing/createMeteredApp.js'

const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })

async function call(url: string, headers: Record<string, string>) {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  return decodeReceipt(res.headers.get('rma-receipt'))
}

describe('receipts carry the attestation digest and the price-table root', () => {
  test('attestation = hashAttestation of the attestation the call sent; priceTable = the root in force', async () => {
    const app = await createMeteredApp({ store: createMemoryStore() })
    try {
      const user = Wallet.createRandom() as unknown as Wallet
      const header = await attestWith(user, { body })
      const receipt = await call(app.url, { 'rma-attestation': header })
      const domain = app.meter.config.domain
      expect(verifyReceipt({ receipt, domain })).toBe(true)
      expect(receipt.attestation).toBe(hashAttestation(decodeAttestation(header), domain))
      expect(receipt.priceTable).toBe(createPriceTableTree(prices, { at: receipt.timestamp }).root)
      expect(receipt.cacheWriteTokens).toBe(0)
      // a second call, its own attestation: its own digest
      const second = await call(app.url, { 'rma-attestation': await attestWith(user, { body }) })
      expect(second.attestation).not.toBe(receipt.attestation)
      expect(second.priceTable).toBe(receipt.priceTable)
    } finally {
      await app.close()
    }
  })

  test('a call identified without an attestation (custodial) carries zero bytes32', async () => {
    const user = Wallet.createRandom().address as `0x${string}`
    const app = await createMeteredApp({
      store: createMemoryStore(),
      meter: { identify: () => user },
    })
    try {
      const receipt = await call(app.url, {})
      expect(receipt.attestation).toBe(zeroHash)
      expect(receipt.user).toBe(user.toLowerCase())
    } finally {
      await app.close()
    }
  })

  test('each receipt carries the root of the price version in force at its timestamp', async () => {
    const versioned = createPriceTable({
      models: {
        'gpt-4o-mini': [
          { effectiveFrom: 1_000, input: 150_000n, output: 600_000n },
          { effectiveFrom: 2_000, input: 100_000n, output: 400_000n },
        ],
      },
    })
    let now = 1_500
    const app = await createMeteredApp({
      store: createMemoryStore(),
      meter: { prices: versioned, now: () => now, maxAttestationTtl: 10 ** 10 },
    })
    try {
      const user = Wallet.createRandom() as unknown as Wallet
      const expiry = 10 ** 9
      const before = await call(app.url, {
        'rma-attestation': await attestWith(user, { body, expiry }),
      })
      now = 2_500
      const after = await call(app.url, {
        'rma-attestation': await attestWith(user, { body, expiry }),
      })
      const v1 = createPriceTableTree(versioned, { at: 1_000 }).root
      const v2 = createPriceTableTree(versioned, { at: 2_000 }).root
      expect(v1).not.toBe(v2)
      expect([before.timestamp, before.priceTable]).toEqual([1_500, v1])
      expect([after.timestamp, after.priceTable]).toEqual([2_500, v2])
      expect(app.meter.config.priceTables.versions).toEqual([
        { effectiveFrom: 1_000, root: v1 },
        { effectiveFrom: 2_000, root: v2 },
      ])
    } finally {
      await app.close()
    }
  })

  test('a price table that cannot be committed (snapshot priced unlike its base) is refused at construction', () => {
    const unprovable = createPriceTable({
      models: {
        'gpt-4o': { input: 2_500_000n, output: 10_000_000n },
        'gpt-4o-2024-05-13': { input: 5_000_000n, output: 15_000_000n },
      },
    })
    let error: unknown
    try {
      rmaMeter({
        assetId,
        chainId,
        settlementContract,
        prices: unprovable,
        store: createMemoryStore(),
        signer: Wallet.createRandom(),
      })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(MeterError)
    expect(error).toMatchObject({
      code: 'rma_invalid_option',
      message:
        '`prices`: Snapshot "gpt-4o-2024-05-13" and its base "gpt-4o" have different prices: a mispricing proof may use the base entry for a snapshot, so both must price alike. Give them the same prices, or rename the snapshot (no -YYYY-MM-DD / -NNNN suffix).',
    })
  })
})
