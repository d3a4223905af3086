import { withRMA } from '@rma/client'
import { type Address, encodeReceipt, type Hex } from '@rma/core'
import { createMeteredApp, type MeteredApp } from '@rma/express/testing'
import type { Wallet } from 'ethers'
import OpenAI from 'openai'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { auditAsset } from './auditAsset.js'
import { type AuditChain, createAuditChain } from './testing/createAuditChain.js'

let chain: AuditChain
let app: MeteredApp
let user: Wallet
let client: ReturnType<typeof createClient>

function createClient() {
  return withRMA(new OpenAI({ baseURL: `${app.url}/v1`, apiKey: 'unused', maxRetries: 0 }), {
    signer: user,
    assetId: chain.assetId,
    chainId: chain.anvil.chainId,
    settlementContract: chain.contract,
    meters: [chain.fx.meter.address as Address],
    maxAmountPerCall: 10n ** 9n,
  })
}

/** The real meter (rmaMeter over the chain's store and meter key) and the real client, withRMA. */
beforeAll(async () => {
  chain = await createAuditChain()
  app = await createMeteredApp({
    store: chain.store,
    meterKey: chain.fx.meter.privateKey,
    meter: {
      assetId: chain.assetId,
      chainId: chain.anvil.chainId,
      settlementContract: chain.contract,
    },
  })
  user = chain.users[0]!
  client = createClient()
})

afterAll(async () => {
  await app?.close()
  await chain?.close()
})

async function calls(n: number, tag: string) {
  for (let i = 0; i < n; i++) {
    const messages = [{ role: 'user' as const, content: `${tag} ${i}` }]
    if (i % 2 === 0) await client.chat.completions.create({ model: 'gpt-4o-mini', messages })
    else {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages,
        stream: true,
        stream_options: { include_usage: true },
      })
      let chunks = 0
      for await (const _ of stream) chunks++
      expect(chunks).toBeGreaterThan(0)
    }
  }
  await client.rma.settled()
}

test("withRMA's ledger export is the audit's ledger: honest epochs pass, an omitted receipt is caught", async () => {
  await calls(3, 'epoch 1')
  await chain.settleHonest()
  const honest = client.rma.ledger.exportJSON()
  expect(honest.receipts).toHaveLength(3)
  const audit = (ledger: unknown) =>
    auditAsset({
      rpcUrl: chain.rpcUrl,
      contract: chain.contract,
      assetId: chain.assetId,
      ledger: ledger as never,
    })
  expect(await audit(honest)).toEqual({
    ok: true,
    epochs: [{ epoch: 1, status: 'ok' }],
    discrepancies: [],
  })

  // Epoch 2: the settler leaves the user's middle receipt out of its batch.
  await calls(3, 'epoch 2')
  const unsettled = await chain.store.listUnsettled({ assetId: chain.assetId as Hex })
  expect(unsettled.map((r) => r.receipt.seq)).toEqual([4, 5, 6])
  const [first, dropped, last] = unsettled.map((r) => ({
    receipt: r.receipt,
    hash: r.hash,
    encoded: encodeReceipt(r.receipt),
  }))
  await chain.postBatch([first!, last!])
  const ledger = client.rma.ledger.exportJSON()
  const report = await audit(JSON.stringify(ledger))
  const accounts = [user.address.toLowerCase(), chain.fx.meter.address.toLowerCase()].sort()
  expect(report.ok).toBe(false)
  expect(report.discrepancies.map((d) => [d.kind, d.epoch, d.accounts])).toEqual([
    ['chain-gap', 2, accounts],
    ['receipt-omitted', 2, accounts],
  ])
  expect(report.discrepancies[1]!.detail).toContain(
    `Receipt seq 5 of user ${user.address.toLowerCase()}`,
  )
  expect(report.discrepancies[1]!.detail).toContain(dropped!.hash)

  // Without the ledger only the gap shows: the ledger is what names the receipt.
  const alone = await audit(undefined)
  expect(alone.discrepancies.map((d) => d.kind)).toEqual(['chain-gap'])
})

test('a ledger that is not an rma.ledger/1 export of this contract is refused with the fix', async () => {
  const base = { rpcUrl: chain.rpcUrl, contract: chain.contract, assetId: chain.assetId }
  await expect(auditAsset({ ...base, ledger: '{"hello":1}' })).rejects.toMatchObject({
    code: 'INVALID_LEDGER',
    shortMessage:
      'The ledger is not a usable rma.ledger/1 export (no format tag): pass the JSON of client.rma.ledger.exportJSON().',
  })
  const other = {
    ...client.rma.ledger.exportJSON(),
    domain: { name: 'RMA', version: '1', chainId: '8453', verifyingContract: chain.contract },
  }
  await expect(auditAsset({ ...base, ledger: other as never })).rejects.toMatchObject({
    code: 'INVALID_LEDGER',
  })
})
