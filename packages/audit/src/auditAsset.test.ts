import { encodeReceipt, hashReceipt } from '@rma/core'
import type { Wallet } from 'ethers'
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest'
import type { Discrepancy } from './AuditReport.js'
import { auditAsset } from './auditAsset.js'
import { type AuditChain, createAuditChain, type TestReceipt } from './testing/createAuditChain.js'

let chain: AuditChain
let restore: () => Promise<void>
/** The honest receipts of epochs 1 and 2, as the meter signed them. */
const base: TestReceipt[][] = []

/** Two honest epochs settled by the real settlement client: the base every cheat starts from. */
beforeAll(async () => {
  chain = await createAuditChain()
  const [a, b, c] = chain.users as [Wallet, Wallet, Wallet]
  for (const [i, s] of chain.supporters.entries())
    await (
      await chain.fx.settlement.connect(s).stake(chain.assetId, 1_000_000n * BigInt(i + 1))
    ).wait()
  for (let epoch = 1; epoch <= 2; epoch++) {
    const receipts = [
      await chain.meter(a, 1_000n * BigInt(epoch)),
      await chain.meter(b, 2_345n),
      await chain.meter(b, 777n),
    ]
    if (epoch === 2) receipts.push(await chain.meter(c, 10_001n))
    base.push(receipts)
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
  const [a, b] = chain.users as [Wallet, Wallet]
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
  const [a, b] = chain.users as [Wallet, Wallet]
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

test("rebate-mismatch: a rebate root that shifts part of one user's rebate to another", async () => {
  const [a, b] = chain.users as [Wallet, Wallet]
  const receipts = [
    await chain.sign(a, { amount: 4_000n }),
    await chain.sign(b, { amount: 6_000n }),
  ]
  // Pro rata: users' share 1,500 → a 600, b 900. The settler moves 200 from b to a.
  const [ua, ub] = [lower(a), lower(b)]
  await chain.postBatch(receipts, {
    rebates: [
      { user: ua, amount: 800n },
      { user: ub, amount: 700n },
    ],
  })
  const report = await audit()
  expect(report.ok).toBe(false)
  expect(report.discrepancies).toHaveLength(1)
  const [d] = report.discrepancies
  expect(d).toMatchObject({ kind: 'rebate-mismatch', epoch: 3, accounts: [ua, ub].sort() })
  expect(d!.detail).toContain(`${ua} committed 800, pro-rata share 600 (above)`)
  expect(d!.detail).toContain(`${ub} committed 700, pro-rata share 900 (shifted away)`)
})

test('rebate-mismatch: a settler commits a rebate to an address that spent nothing', async () => {
  const [a] = chain.users as [Wallet]
  const receipts = [await chain.sign(a, { amount: 10_000n })]
  const settler = lower(chain.fx.settler)
  await chain.postBatch(receipts, {
    rebates: [
      { user: lower(a), amount: 1_000n },
      { user: settler, amount: 500n },
    ],
  })
  const report = await audit()
  expect(report.discrepancies).toEqual([
    expect.objectContaining({
      kind: 'rebate-mismatch',
      epoch: 3,
      accounts: [lower(a), settler].sort(),
    }),
  ])
})

test('bad-signature: a receipt whose amount was raised after the meter signed it', async () => {
  const [a, b] = chain.users as [Wallet, Wallet]
  const honest = await chain.sign(b, { amount: 3_000n })
  const signed = await chain.sign(a, { amount: 1_000n })
  const raised = { ...signed.receipt, amount: 100_000n }
  const forged = {
    receipt: raised,
    hash: hashReceipt(raised, chain.domain),
    encoded: encodeReceipt(raised),
  }
  await chain.postBatch([honest, forged])
  const report = await audit()
  expect(report.discrepancies).toEqual([
    {
      kind: 'bad-signature',
      epoch: 3,
      accounts: [lower(a), lower(chain.fx.meter)].sort(),
      detail: `1 receipt(s) of user ${lower(a)} in epoch 3 are not signed by meter ${lower(chain.fx.meter)} (last: seq 3).`,
    },
  ])
  expect(report.epochs.map((e) => e.status)).toEqual(['ok', 'ok', 'discrepancy'])
})

test('bad-signature, not equivocation: a settled receipt copied with a higher amount under its seq', async () => {
  const [a] = chain.users as [Wallet]
  const original = base[0]!.find((r) => r.receipt.user.toLowerCase() === lower(a))!
  const raised = { ...original.receipt, amount: original.receipt.amount * 10n }
  const forged = {
    receipt: raised,
    hash: hashReceipt(raised, chain.domain),
    encoded: encodeReceipt(raised),
  }
  await chain.postBatch([forged])
  const report = await audit()
  expect(kinds(report.discrepancies)).toEqual(['bad-signature'])
  expect(report.discrepancies[0]!.accounts).toEqual([lower(a), lower(chain.fx.meter)].sort())
})

test('equivocation without a ledger: the meter signed two receipts for one seq and both were settled', async () => {
  const [a] = chain.users as [Wallet]
  const one = await chain.sign(a, { amount: 1_000n }, { advance: false })
  const other = await chain.sign(a, { amount: 2_000n })
  await chain.postBatch([one])
  await chain.postBatch([other])
  const report = await audit()
  expect(report.discrepancies).toEqual([
    {
      kind: 'equivocation',
      epoch: 4,
      accounts: [lower(a), lower(chain.fx.meter)].sort(),
      detail: `Two different receipts with seq 3 of user ${lower(a)}, meter ${lower(chain.fx.meter)} were settled (epochs 3 and 4).`,
    },
  ])
})

test('broken-chain: a receipt whose prev is not the hash of the receipt before it', async () => {
  const [a] = chain.users as [Wallet]
  const receipt = await chain.sign(a, { prev: `0x${'ab'.repeat(32)}` })
  await chain.postBatch([receipt])
  const report = await audit()
  expect(report.discrepancies).toEqual([
    expect.objectContaining({
      kind: 'broken-chain',
      epoch: 3,
      accounts: [lower(a), lower(chain.fx.meter)].sort(),
    }),
  ])
})

test('duplicate-receipt: a receipt settled in epoch 2 is settled again in epoch 3', async () => {
  const [, b] = chain.users as [Wallet, Wallet]
  const again = base[1]!.find((r) => r.receipt.user.toLowerCase() === lower(b))!
  await chain.postBatch([again, await chain.sign(b, { amount: 50n })])
  const report = await audit()
  expect(report.discrepancies).toEqual([
    {
      kind: 'duplicate-receipt',
      epoch: 3,
      accounts: [lower(b), lower(chain.fx.meter)].sort(),
      detail: `Receipt seq ${again.receipt.seq} of user ${lower(b)}, meter ${lower(chain.fx.meter)} was settled twice (epoch 2 and epoch 3): the user was charged twice.`,
    },
  ])
})

test('duplicate-receipt: one receipt listed twice in one batch', async () => {
  const [a] = chain.users as [Wallet]
  const twice = await chain.sign(a, { amount: 5_000n })
  await chain.postBatch([twice, twice])
  const report = await audit()
  expect(report.discrepancies).toEqual([
    {
      kind: 'duplicate-receipt',
      epoch: 3,
      accounts: [lower(a), lower(chain.fx.meter)].sort(),
      detail: `Receipt seq 3 of user ${lower(a)}, meter ${lower(chain.fx.meter)} was settled twice (epoch 3 and epoch 3): the user was charged twice.`,
    },
  ])
})

test('chain-gap: a batch skips a seq of a chain', async () => {
  const [a] = chain.users as [Wallet]
  await chain.sign(a) // seq 3: signed, never settled
  const next = await chain.sign(a) // seq 4
  await chain.postBatch([next])
  const report = await audit()
  expect(report.discrepancies).toEqual([
    {
      kind: 'chain-gap',
      epoch: 3,
      accounts: [lower(a), lower(chain.fx.meter)].sort(),
      detail: `The chain of user ${lower(a)}, meter ${lower(chain.fx.meter)} jumps from seq 2 to seq 4 in epoch 3: 1 receipt(s) were never settled.`,
    },
  ])
})

test('receipt-omitted: a receipt the user holds is in no batch though its chain settled past it', async () => {
  const [a] = chain.users as [Wallet]
  const omitted = await chain.sign(a, { amount: 9_999n })
  const next = await chain.sign(a)
  await chain.postBatch([next])
  const ledger = chain.ledgerOf(
    [...base[0]!, ...base[1]!, omitted, next].filter(
      (r) => r.receipt.user === (a as { address: string }).address,
    ),
  )
  const report = await audit({ ledger })
  expect(kinds(report.discrepancies)).toEqual(['chain-gap', 'receipt-omitted'])
  expect(report.discrepancies.find((d) => d.kind === 'receipt-omitted')).toEqual({
    kind: 'receipt-omitted',
    epoch: 3,
    accounts: [lower(a), lower(chain.fx.meter)].sort(),
    detail: `Receipt seq 3 of user ${lower(a)}, meter ${lower(chain.fx.meter)} (amount 9999, hash ${omitted.hash}) is in no batch, though its chain was settled up to seq 4.`,
  })
})

test('equivocation: the meter signs two receipts with one seq; the user holds one, the batch settles the other', async () => {
  const [a] = chain.users as [Wallet]
  const held = await chain.sign(a, { amount: 1_000n }, { advance: false })
  const settled = await chain.sign(a, { amount: 50_000n })
  await chain.postBatch([settled])
  const report = await audit({ ledger: chain.ledgerOf([held]) })
  expect(report.discrepancies).toEqual([
    {
      kind: 'equivocation',
      epoch: 3,
      accounts: [lower(a), lower(chain.fx.meter)].sort(),
      detail: `Epoch 3 settled receipt ${settled.hash} as seq 3 of user ${lower(a)}, meter ${lower(chain.fx.meter)}, but the user holds a different receipt ${held.hash} for that seq, also signed by the meter.`,
    },
  ])
  // Both receipts in the user's own ledger (the client keeps the second as rejected) prove it too.
  const both = await audit({ ledger: chain.ledgerOf([held], [settled]) })
  expect(kinds(both.discrepancies)).toEqual(['equivocation', 'equivocation'])
})

test("a settler forges a receipt in the user's seq: bad-signature, and the user's own receipt omitted", async () => {
  const [a] = chain.users as [Wallet]
  const real = await chain.sign(a, { amount: 1_000n })
  const inflated = { ...real.receipt, amount: 90_000n }
  const forged = {
    receipt: inflated,
    hash: hashReceipt(inflated, chain.domain),
    encoded: encodeReceipt(inflated),
  }
  await chain.postBatch([forged])
  const report = await audit({ ledger: chain.ledgerOf([real]) })
  expect(kinds(report.discrepancies)).toEqual(['bad-signature', 'receipt-omitted'])
  expect(report.discrepancies.every((d) => d.epoch === 3)).toBe(true)
})

test('an honest ledger adds nothing: every receipt the user holds was settled', async () => {
  const [, b] = chain.users as [Wallet, Wallet]
  const mine = base.flat().filter((r) => r.receipt.user.toLowerCase() === lower(b))
  const pending = await chain.sign(b) // not settled yet: after the chain's settled head, not omitted
  const report = await audit({ ledger: JSON.stringify(chain.ledgerOf([...mine, pending])) })
  expect(report).toMatchObject({ ok: true, discrepancies: [] })
})

test('unauthorised-meter: the issuer revokes the meter; a receipt it signs afterwards is settled', async () => {
  const [a] = chain.users as [Wallet]
  const issuer = chain.fx.settlement.connect(chain.fx.issuer)
  await (await issuer.setMeter(chain.assetId, chain.fx.meter.address, false)).wait()
  const receipt = await chain.sign(a, { timestamp: (await chain.now()) + 5 })
  await chain.postBatch([receipt])
  const report = await audit()
  expect(report.discrepancies).toEqual([
    {
      kind: 'unauthorised-meter',
      epoch: 3,
      accounts: [lower(a), lower(chain.fx.meter)].sort(),
      detail: `1 receipt(s) of user ${lower(a)} in epoch 3 come from meter ${lower(chain.fx.meter)}, not authorised when epoch 3 settled.`,
    },
  ])
})

test('unauthorised-meter: a receipt signed while the meter was revoked, settled once it was authorised again', async () => {
  const [a] = chain.users as [Wallet]
  const issuer = chain.fx.settlement.connect(chain.fx.issuer)
  await (await issuer.setMeter(chain.assetId, chain.fx.meter.address, false)).wait()
  const revokedAt = await chain.now()
  await chain.anvil.increaseTime(3_600)
  await (await issuer.setMeter(chain.assetId, chain.fx.meter.address, true)).wait()
  // Signed half an hour into the hour the key was revoked (backdated or not, it is not the meter's).
  const receipt = await chain.sign(a, { timestamp: revokedAt + 1_800 })
  await chain.postBatch([receipt])
  const report = await audit()
  expect(report.discrepancies).toEqual([
    {
      kind: 'unauthorised-meter',
      epoch: 3,
      accounts: [lower(a), lower(chain.fx.meter)].sort(),
      detail: `1 receipt(s) of user ${lower(a)} in epoch 3 come from meter ${lower(chain.fx.meter)}, not authorised when it signed seq 3 (timestamp ${revokedAt + 1_800}).`,
    },
  ])
  // A receipt within the clock tolerance of the revocation is not held against the meter.
  expect((await audit({ clockToleranceSeconds: 1_800 })).ok).toBe(true)
})

test('unauthorised-meter: receipts of a key that was never a meter of the asset', async () => {
  const [a] = chain.users as [Wallet]
  const rogue = chain.fx.others[5]!
  const receipt = await chain.sign(a, {}, { meter: rogue })
  await chain.postBatch([receipt])
  const report = await audit()
  expect(report.discrepancies).toEqual([
    expect.objectContaining({
      kind: 'unauthorised-meter',
      epoch: 3,
      accounts: [lower(a), lower(rogue)].sort(),
    }),
  ])
})

test('receipts-mismatch: the file lists other receipts than the root the chain committed', async () => {
  const [a, b] = chain.users as [Wallet, Wallet]
  const shown = await chain.sign(a, { amount: 500n })
  const hidden = await chain.sign(b, { amount: 500n })
  await chain.postBatch([shown], { committedReceipts: [hidden], revenue: 500n })
  const report = await audit()
  expect(kinds(report.discrepancies)).toEqual(['receipts-mismatch'])
  expect(report.discrepancies[0]).toMatchObject({ epoch: 3, accounts: [lower(a)] })
})

test('batch-hash-mismatch: the batch file is altered after its hash was committed', async () => {
  const [a] = chain.users as [Wallet]
  const { path, bytes, batchHash } = await chain.postBatch([
    await chain.sign(a, { amount: 2_000n }),
  ])
  const { writeFile } = await import('node:fs/promises')
  await writeFile(
    path,
    Buffer.from(bytes.toString().replace('"revenue": "2000"', '"revenue": "1"')),
  )
  const report = await audit()
  expect(report.epochs.at(-1)).toEqual({ epoch: 3, status: 'discrepancy' })
  expect(report.discrepancies).toEqual([
    expect.objectContaining({
      kind: 'batch-hash-mismatch',
      epoch: 3,
      accounts: [lower(chain.fx.settler)],
    }),
  ])
  expect(report.discrepancies[0]!.detail).toContain(
    `not the ${batchHash} committed on chain: the file was changed after settlement.`,
  )

  // Truncated: the same finding, and the detail says the file is not whole.
  await writeFile(path, bytes.subarray(0, bytes.length - 40))
  const truncated = await audit()
  expect(truncated.discrepancies).toEqual([
    expect.objectContaining({ kind: 'batch-hash-mismatch', epoch: 3 }),
  ])
  expect(truncated.discrepancies[0]!.detail).toContain(
    '(and is not whole JSON: truncated or corrupted)',
  )
})

test('batch-missing: the batch file is deleted; its epoch is unavailable', async () => {
  const [a] = chain.users as [Wallet]
  const { path, uri } = await chain.postBatch([await chain.sign(a)])
  const { rm } = await import('node:fs/promises')
  await rm(path)
  const report = await audit()
  expect(report.ok).toBe(false)
  expect(report.epochs).toEqual([
    { epoch: 1, status: 'ok' },
    { epoch: 2, status: 'ok' },
    { epoch: 3, status: 'unavailable' },
  ])
  expect(report.discrepancies).toEqual([
    {
      kind: 'batch-missing',
      epoch: 3,
      accounts: [lower(chain.fx.settler)],
      detail: `Batch file ${uri} is missing (HTTP 404): the settler must publish it at the URI it committed on chain.`,
    },
  ])
})

test('batch-missing: a file:// URI to a file that is gone, and a URI scheme the audit cannot fetch', async () => {
  const [a, b] = chain.users as [Wallet, Wallet]
  const { pathToFileURL } = await import('node:url')
  const { join } = await import('node:path')
  const gone = pathToFileURL(join(chain.dir, 'nowhere.json')).href
  await chain.postBatch([await chain.sign(a)], { uri: gone })
  await chain.postBatch([await chain.sign(b)], {
    uri: 'ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
  })
  const report = await audit()
  expect(report.epochs.slice(2)).toEqual([
    { epoch: 3, status: 'unavailable' },
    { epoch: 4, status: 'unavailable' },
  ])
  expect(report.discrepancies.map((d) => [d.kind, d.epoch, d.detail])).toEqual([
    [
      'batch-missing',
      3,
      `Batch file ${gone} is missing (no such file): the settler must keep it at the URI it committed on chain.`,
    ],
    [
      'batch-missing',
      4,
      'Batch file ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi has a URI scheme (ipfs) the audit cannot fetch: publish batch files over https:// (or pass fetchBatch for this scheme).',
    ],
  ])
})

test('bounded: a fetchBatch that never answers, and files over the size limit, leave epochs unavailable', async () => {
  const hung = await audit({ fetchBatch: () => new Promise(() => {}), batchTimeoutMs: 200 })
  expect(hung.ok).toBe(false)
  expect(hung.epochs.map((e) => e.status)).toEqual(['unavailable', 'unavailable'])
  expect(hung.discrepancies.map((d) => d.kind)).toEqual(['batch-missing', 'batch-missing'])
  expect(hung.discrepancies[0]!.detail).toMatch(
    /did not arrive within 0\.2 s: check its host, or raise the timeout\.$/,
  )

  const failing = await audit({
    fetchBatch: async () => {
      throw new TypeError('bucket not found')
    },
  })
  expect(failing.discrepancies[0]!.detail).toMatch(
    /cannot be fetched \(bucket not found\): check the fetchBatch given and the file's host\.$/,
  )

  const small = await audit({ maxBatchBytes: 100 })
  expect(small.epochs.map((e) => e.status)).toEqual(['unavailable', 'unavailable'])
  expect(small.discrepancies[0]!.detail).toMatch(/is larger than 100 bytes: raise the size limit/)
})

test('a fetchBatch of the caller reaches other schemes; its bytes are checked like any others', async () => {
  const { readFile } = await import('node:fs/promises')
  const fromDisk = (uri: string) =>
    readFile(`${chain.batchDir}/${new URL(uri).pathname.slice(1)}`).then((b) => new Uint8Array(b))
  expect(await audit({ fetchBatch: fromDisk })).toMatchObject({ ok: true })
  const tampered = await audit({
    fetchBatch: async (uri) => {
      const bytes = await fromDisk(uri)
      bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 1
      return bytes
    },
  })
  expect(kinds(tampered.discrepancies)).toEqual(['batch-hash-mismatch', 'batch-hash-mismatch'])
})

test('batch-invalid: the settler commits the hash of a file auditors cannot read, or of another epoch', async () => {
  const [a, b] = chain.users as [Wallet, Wallet]
  await chain.postBatch([await chain.sign(a)], {
    rewrite: () => Buffer.from('{"version": 2, "receipts": "lol"'),
  })
  await chain.postBatch([await chain.sign(b)], { rewrite: (file) => ({ ...file, epoch: 2 }) })
  const report = await audit()
  const settler = lower(chain.fx.settler)
  expect(report.epochs.slice(2)).toEqual([
    { epoch: 3, status: 'discrepancy' },
    { epoch: 4, status: 'discrepancy' },
  ])
  expect(report.discrepancies).toEqual([
    {
      kind: 'batch-invalid',
      epoch: 3,
      accounts: [settler],
      detail: expect.stringMatching(
        / is not a valid batch file \(not JSON\): the settler committed a file auditors cannot read\.$/,
      ),
    },
    {
      kind: 'batch-invalid',
      epoch: 4,
      accounts: [settler],
      detail: expect.stringMatching(
        / is the file of epoch 2: the settler committed another batch's file\.$/,
      ),
    },
  ])
})
