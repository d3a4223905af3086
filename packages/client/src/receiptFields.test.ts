import {
  createPriceTable,
  createPriceTableTree,
  decodeReceipt,
  type Hex,
  hashAttestation,
  zeroHash,
} from '@rma/core'
import type { MeteredApp } from '@rma/express/testing'
import { Wallet } from 'ethers'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import {
  AttestationMismatchError,
  PriceTableMismatchError,
  PriceTableNotCommittedError,
  type ReceiptError,
} from './errors.js'
import { getReceipt } from './getReceipt.js'
import { createTamperProxy, type Tamper } from './testing/createTamperProxy.js'
import {
  chat,
  createTestClient,
  createUser,
  prices,
  startMeteredApp,
} from './testing/createTestClient.js'
import { forgeReceipt } from './testing/forgeReceipt.js'

let app: MeteredApp
const meterKey = Wallet.createRandom().privateKey
const closers: (() => Promise<void>)[] = []
beforeAll(async () => {
  app = await startMeteredApp(meterKey)
})
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})
afterAll(() => app.close())

const meter = () => new Wallet(meterKey)
const domain = () => app.meter.config.domain

/** A dishonest meter: its own key re-signs each JSON receipt with `changes` applied. */
async function dishonest(
  changes: (encoded: string) => Parameters<typeof forgeReceipt>[1],
  options: Parameters<typeof createTestClient>[2] = {},
) {
  const tamper: Tamper = {
    json: ({ headers }) => {
      const encoded = headers.get('rma-receipt')
      if (encoded)
        headers.set('rma-receipt', forgeReceipt(encoded, changes(encoded), meter(), domain()))
      return undefined
    },
  }
  const proxy = await createTamperProxy(app.url, tamper)
  closers.push(proxy.close)
  const user = createUser()
  const client = createTestClient(app, user, { url: proxy.url, ackInterval: 0, ...options })
  const mismatches: ReceiptError[] = []
  client.rma.events.on('mismatch', (error) => mismatches.push(error))
  const acks: number[] = []
  client.rma.events.on('ack', ({ seq }) => acks.push(seq))
  return { client, user, mismatches, acks }
}

/** Nothing of the user's chain was acked at the meter: no voucher, nothing to pay. */
async function expectNothingAcked(user: Wallet) {
  const ack = await app.meter.config.store.latestAck({
    assetId: app.meter.config.assetId,
    meter: app.meterWallet.address as Hex,
    user: user.address as Hex,
  })
  expect(ack).toBeUndefined()
}

describe('a receipt bound to another attestation is refused', () => {
  test('the meter signs the digest of another attestation: AttestationMismatchError, not in the ledger, never acked', async () => {
    const other = hashAttestation(
      {
        assetId: app.meter.config.assetId,
        user: createUser().address as Hex,
        requestHash: zeroHash,
        nonce: 1n,
        expiry: 2_000_000_000,
        maxAmount: 10n ** 18n,
      },
      domain(),
    )
    const { client, user, mismatches, acks } = await dishonest(() => ({ attestation: other }))
    const error = (await client.chat.completions
      .create(chat)
      .catch((e: unknown) => e)) as AttestationMismatchError
    expect(error).toBeInstanceOf(AttestationMismatchError)
    expect(error.code).toBe('ATTESTATION_MISMATCH')
    expect(error.shortMessage).toBe('The receipt answers another attestation.')
    expect(error.actual).toBe(other)
    expect(error.expected).toMatch(/^0x[0-9a-f]{64}$/)
    expect(error.expected).not.toBe(other)
    expect(mismatches.map((e) => e.code)).toEqual(['ATTESTATION_MISMATCH'])
    expect(client.rma.ledger.list()).toEqual([])
    expect(client.rma.ledger.rejected()[0]).toMatchObject({ code: 'ATTESTATION_MISMATCH' })
    await client.rma.flushAcks()
    expect(acks).toEqual([])
    await expectNothingAcked(user)
  })

  test('no attestation digest at all (zero): refused the same way', async () => {
    const { client, user } = await dishonest(() => ({ attestation: zeroHash }))
    const error = await client.chat.completions.create(chat).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AttestationMismatchError)
    expect((error as AttestationMismatchError).actual).toBe(zeroHash)
    await client.rma.flushAcks()
    await expectNothingAcked(user)
  })
})

describe('a receipt priced with another price table is refused', () => {
  // A table the user never agreed to: the same models, dearer.
  const dearer = createPriceTable({
    models: { 'gpt-4o-mini': { input: 300_000n, output: 1_200_000n } },
  })

  test('the meter names the root of a table the client does not have: PriceTableMismatchError, never acked', async () => {
    const root = createPriceTableTree(dearer, { at: 0 }).root
    const { client, user, acks } = await dishonest(() => ({ priceTable: root }))
    const error = (await client.chat.completions
      .create(chat)
      .catch((e: unknown) => e)) as PriceTableMismatchError
    expect(error).toBeInstanceOf(PriceTableMismatchError)
    expect(error.code).toBe('PRICE_TABLE_MISMATCH')
    expect(error.actual).toBe(root)
    expect(error.expected).toBe(createPriceTableTree(prices, { at: error.receipt!.timestamp }).root)
    expect(error.details).toBe(
      `The price table in force at the receipt's timestamp has root ${error.expected}, the receipt names ${root}.`,
    )
    expect(client.rma.ledger.list()).toEqual([])
    await client.rma.flushAcks()
    expect(acks).toEqual([])
    await expectNothingAcked(user)
  })

  test('an honest receipt carries the client’s own root and is accepted', async () => {
    const client = createTestClient(app, createUser())
    const { response } = await client.chat.completions.create(chat).withResponse()
    const { receipt } = await getReceipt(response)
    expect(receipt.priceTable).toBe(createPriceTableTree(prices, { at: receipt.timestamp }).root)
  })
})

describe('with a chain reader, a table the asset has not committed is refused', () => {
  test('an uncommitted root (the meter’s table, never committed): PriceTableNotCommittedError, never acked; committed, the next call is accepted', async () => {
    const committed = new Set<string>()
    const asked: string[] = []
    const priceTableCommitted = (root: Hex) => {
      asked.push(root)
      return committed.has(root)
    }
    // no client price table: the commitment alone is checked
    const { client, user, acks } = await dishonest(
      (encoded) => ({
        priceTable: decodeReceipt(encoded).priceTable,
      }),
      { prices: undefined, priceTableCommitted },
    )
    const error = (await client.chat.completions
      .create(chat)
      .catch((e: unknown) => e)) as PriceTableNotCommittedError
    expect(error).toBeInstanceOf(PriceTableNotCommittedError)
    expect(error.code).toBe('PRICE_TABLE_NOT_COMMITTED')
    const root = createPriceTableTree(prices, { at: error.receipt!.timestamp }).root
    expect(error.root).toBe(root)
    expect(error.shortMessage).toBe(
      `The receipt's price table ${root} is not committed for the asset.`,
    )
    expect(client.rma.ledger.list()).toEqual([])
    await client.rma.flushAcks()
    expect(acks).toEqual([])
    await expectNothingAcked(user)
    // once committed, receipts priced with it are accepted, and the answer is cached
    committed.add(root)
    const { response } = await client.chat.completions.create(chat).withResponse()
    expect((await getReceipt(response)).receipt.priceTable).toBe(root)
    await client.chat.completions.create(chat)
    expect(asked).toEqual([root, root])
  })

  test('a zero root (a meter pricing without a committed table) is refused', async () => {
    const { client } = await dishonest(() => ({ priceTable: zeroHash }), {
      priceTableCommitted: () => false,
    })
    const error = await client.chat.completions.create(chat).catch((e: unknown) => e)
    // with the client's table the root mismatch is found first
    expect(error).toBeInstanceOf(PriceTableMismatchError)
    const { client: tableless } = await dishonest(() => ({ priceTable: zeroHash }), {
      prices: undefined,
      priceTableCommitted: (root) => root !== zeroHash,
    })
    const refused = await tableless.chat.completions.create(chat).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(PriceTableNotCommittedError)
  })
})
