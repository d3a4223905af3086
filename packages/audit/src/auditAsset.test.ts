import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest'
import type { Discrepancy } from './AuditReport.js'
import { auditAsset } from './auditAsset.js'
import { type AuditChain, createAuditChain } from './testing/createAuditChain.js'

let chain: AuditChain
let restore: () => Promise<void>

/** Two honest epochs settled by the real settlement client: the base every cheat starts from. */
beforeAll(async () => {
  chain = await createAuditChain()
  const [a, b, c] = chain.users as [never, never, never]
  for (const [i, s] of chain.supporters.entries())
    await (
      await chain.fx.settlement.connect(s).stake(chain.assetId, 1_000_000n * BigInt(i + 1))
    ).wait()
  for (let epoch = 1; epoch <= 2; epoch++) {
    await chain.meter(a, 1_000n * BigInt(epoch))
    await chain.meter(b, 2_345n)
    await chain.meter(b, 777n)
    if (epoch === 2) await chain.meter(c, 10_001n)
    await chain.settleHonest()
  }
  restore = await chain.checkpoint()
})

beforeEach(async () => {
  await restore()
})

afterAll(async () => {
  await chain?.close()
})

const audit = (extra: Partial<Parameters<typeof auditAsset>[0]> = {}) =>
  auditAsset({ rpcUrl: chain.rpcUrl, contract: chain.contract, assetId: chain.assetId, ...extra })

const lower = (w: { address: string }) => w.address.toLowerCase()
const kinds = (ds: Discrepancy[]) => ds.map((d) => d.kind).sort()

test('an honest multi-epoch run passes: every epoch ok, nothing differs', async () => {
  const [a, b] = chain.users as [never, never]
  // A third honest epoch on top, by the real client, after the base's two.
  await chain.meter(a, 5n)
  await chain.meter(b, 123_456n)
  await chain.settleHonest()
  const report = await audit()
  expect(report).toEqual({
    ok: true,
    epochs: [
      { epoch: 1, status: 'ok' },
      { epoch: 2, status: 'ok' },
      { epoch: 3, status: 'ok' },
    ],
    discrepancies: [],
  })
})

test('revenue-mismatch: a settler posts a revenue other than the sum of its receipts', async () => {
  const [a, b] = chain.users as [never, never]
  const receipts = [
    await chain.sign(a, { amount: 4_000n }),
    await chain.sign(b, { amount: 6_000n }),
  ]
  await chain.postBatch(receipts, { revenue: 7_000n })
  const report = await audit()
  expect(report.ok).toBe(false)
  expect(report.epochs.at(-1)).toEqual({ epoch: 3, status: 'discrepancy' })
  expect(report.discrepancies).toEqual([
    {
      kind: 'revenue-mismatch',
      epoch: 3,
      accounts: [lower(a), lower(b)].sort(),
      detail: 'Epoch 3 settled revenue 7000, but its 2 receipts sum to 10000.',
    },
  ])
})
