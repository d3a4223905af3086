import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createPriceTable, createPriceTableTree, type Hex } from '@rma/core'
import { MeterError } from '@rma/meter'
import { attestWith } from '@rma/meter/testing'
import { createMemoryStore } from '@rma/store'
import { AbiCoder, Interface, Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createMeteredApp } from './testing/createMeteredApp.js'

// A JSON-RPC endpoint on 127.0.0.1 standing in for the settlement contract's views until the
// contract with price tables is merged: chain id, code, isMeter, and priceTableOf answered from
// `committed` (root → version), ABI-encoded as the contract returns them.
const abi = new Interface([
  'function isMeter(bytes32 assetId, address meter) view returns (bool)',
  'function priceTableOf(bytes32 assetId, bytes32 root) view returns (uint64 version, uint64 effectiveFrom)',
])
const committed = new Map<string, bigint>()
const calls: string[] = []
let rpcUrl: string
const server = createServer(async (req, res) => {
  let body = ''
  for await (const chunk of req) body += chunk
  const { id, method, params } = JSON.parse(body)
  let result: string
  if (method === 'eth_chainId') result = '0x7a69'
  else if (method === 'eth_getCode') result = '0x6001'
  else {
    const call = abi.parseTransaction({ data: params[0].data })!
    calls.push(call.name)
    result =
      call.name === 'isMeter'
        ? AbiCoder.defaultAbiCoder().encode(['bool'], [true])
        : AbiCoder.defaultAbiCoder().encode(
            ['uint64', 'uint64'],
            [committed.get(call.args[1] as string) ?? 0n, 0n],
          )
  }
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ jsonrpc: '2.0', id, result }))
})
beforeAll(async () => {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  rpcUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise((resolve) => server.close(resolve)))

const prices = createPriceTable({
  models: {
    'gpt-4o-mini': [
      { effectiveFrom: 1_000, input: 150_000n, output: 600_000n },
      { effectiveFrom: 2_000, input: 100_000n, output: 400_000n },
    ],
  },
})
const v1 = createPriceTableTree(prices, { at: 1_000 }).root
const v2 = createPriceTableTree(prices, { at: 2_000 }).root
const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })

async function app(now: () => number) {
  const store = createMemoryStore()
  const metered = await createMeteredApp({
    store,
    meter: { prices, rpcUrl, requireCommittedPrices: true, now, maxAttestationTtl: 10 ** 10 },
  })
  return { metered, store }
}

describe('requireCommittedPrices: no receipt with a price table the asset has not committed', () => {
  test('the root in force is not committed: ready rejects with a typed error and calls are refused', async () => {
    committed.clear()
    const { metered } = await app(() => 1_500)
    try {
      const error = await metered.meter.ready.catch((e: unknown) => e)
      expect(error).toBeInstanceOf(MeterError)
      expect(error).toMatchObject({
        code: 'rma_price_table_not_committed',
        status: 503,
        shortMessage: `The price table in force (root ${v1}, effective from 1000) is not committed for asset ${metered.meter.config.assetId}.`,
      })
      const res = await fetch(`${metered.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'rma-attestation': await attestWith(Wallet.createRandom() as unknown as Wallet, {
            body,
            expiry: 10 ** 9,
          }),
        },
        body,
      })
      expect(res.status).toBe(503)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'rma_price_table_not_committed',
      )
      expect(metered.upstream.requests).toHaveLength(0)
    } finally {
      await metered.close()
    }
  })

  test('committed: served; once an uncommitted version comes into force, calls get 503 with no receipt and no nonce used; committed again, served', async () => {
    committed.clear()
    committed.set(v1, 1n)
    let now = 1_500
    const { metered, store } = await app(() => now)
    try {
      await metered.meter.ready
      const user = Wallet.createRandom() as unknown as Wallet
      const send = (header: string) =>
        fetch(`${metered.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'rma-attestation': header },
          body,
        })
      const first = await send(await attestWith(user, { body, expiry: 10 ** 9 }))
      expect(first.status).toBe(200)
      await first.arrayBuffer()
      now = 2_500 // version 2 in force, not committed
      const nonce = 77n
      const header = await attestWith(user, { body, expiry: 10 ** 9, nonce })
      const refused = await send(header)
      expect(refused.status).toBe(503)
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
        'rma_price_table_not_committed',
      )
      const chain = {
        assetId: metered.meter.config.assetId,
        meter: metered.meterWallet.address as Hex,
        user: user.address as Hex,
      }
      expect((await store.head(chain)).seq).toBe(1)
      committed.set(v2, 2n)
      // the same attestation is still usable: its nonce was not burned
      const served = await send(header)
      expect(served.status).toBe(200)
      await served.arrayBuffer()
      expect((await store.head(chain)).seq).toBe(2)
      const receipts = await store.listByUser({ user: user.address as Hex })
      expect(receipts.map((r) => r.receipt.priceTable).sort()).toEqual([v1, v2].sort())
    } finally {
      await metered.close()
    }
  })
})
