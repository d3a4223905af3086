import {
  type Address,
  allocateProRata,
  createDomain,
  createRebateTree,
  decodeReceipt,
  type Hex,
  hashReceipt,
  type StoredReceipt,
  signReceipt,
  splitRevenue,
  zeroHash,
} from '@rma/core'
import { Wallet } from 'ethers'
import { describe, expect, test } from 'vitest'
import { buildBatch } from './buildBatch.js'
import { InvalidBatchReceiptsError } from './errors.js'

const domain = createDomain({ chainId: 31337, verifyingContract: `0x${'5e'.repeat(20)}` })
const assetId = `0x${'a1'.repeat(32)}` as Hex
const meter = Wallet.createRandom()
const shares = { issuerBps: 5000, supportersBps: 3000, usersBps: 1500, protocolBps: 500 }

async function chain(user: Address, amounts: bigint[], signer = meter): Promise<StoredReceipt[]> {
  const out: StoredReceipt[] = []
  let prev = zeroHash
  let cumulativeAmount = 0n
  for (const [i, amount] of amounts.entries()) {
    cumulativeAmount += amount
    const receipt = await signReceipt({
      signer,
      domain,
      receipt: {
        assetId,
        meter: signer.address as Address,
        user,
        seq: i + 1,
        prev,
        requestHash: zeroHash,
        responseHash: zeroHash,
        model: 'm',
        inputTokens: 1,
        cachedInputTokens: 0,
        outputTokens: 1,
        reasoningTokens: 0,
        usageSource: 'reported',
        amount,
        cumulativeAmount,
        cacheWriteTokens: 0,
        priceTable: `0x${'77'.repeat(32)}`,
        attestation: `0x${'88'.repeat(32)}`,
        timestamp: 1,
      },
    })
    const hash = hashReceipt(receipt, domain)
    out.push({ id: `${user}-${i}`, hash, receipt, epoch: null })
    prev = hash
  }
  return out
}

const base = {
  assetId,
  chainId: 31337n,
  contract: domain.verifyingContract,
  domain,
  anchors: new Map(),
  trustedMeters: [meter.address as Address],
  shares,
}

describe('buildBatch', () => {
  test("splits revenue exactly and divides the users' share by this epoch's spend only", async () => {
    const [a, b] = [
      Wallet.createRandom().address.toLowerCase(),
      Wallet.createRandom().address.toLowerCase(),
    ].sort() as Address[]
    const receipts = [...(await chain(a!, [1001n, 7n])), ...(await chain(b!, [333n]))]
    const { file, included, issues } = buildBatch({ ...base, epoch: 2, receipts })
    expect(issues).toEqual([])
    expect(included).toHaveLength(3)
    // the batch file carries each receipt whole: its price-table root and attestation digest too
    for (const r of file.receipts)
      expect(decodeReceipt(r.encoded)).toMatchObject({
        cacheWriteTokens: 0,
        priceTable: `0x${'77'.repeat(32)}`,
        attestation: `0x${'88'.repeat(32)}`,
      })
    expect(file.revenue).toBe('1341')
    const split = splitRevenue(1341n, shares)
    expect(file.split).toEqual({
      issuer: `${split.issuer}`,
      supporters: `${split.supporters}`,
      users: `${split.users}`,
      protocol: `${split.protocol}`,
    })
    const [ra, rb] = allocateProRata(split.users, [1008n, 333n])
    expect(file.rebates).toEqual([
      { user: a, amount: `${ra}` },
      { user: b, amount: `${rb}` },
    ])
    expect(ra! + rb!).toBeLessThanOrEqual(split.users)
    expect(file.rebateRoot).toBe(
      createRebateTree([
        { user: a!, cumulativeAmount: ra! },
        { user: b!, cumulativeAmount: rb! },
      ]).root,
    )
  })

  test('an epoch whose users are owed nothing commits the zero rebate root', async () => {
    const receipts = await chain(Wallet.createRandom().address as Address, [3n])
    const { file } = buildBatch({
      ...base,
      epoch: 1,
      receipts,
      shares: { issuerBps: 9000, supportersBps: 1000, usersBps: 0, protocolBps: 0 },
    })
    expect(file.rebates).toEqual([])
    expect(file.rebateRoot).toBe(zeroHash)
    expect(file.rebateTree).toBeNull()
  })

  test('leaves out a chain that does not verify and keeps the others', async () => {
    const rogue = Wallet.createRandom()
    const good = await chain(Wallet.createRandom().address as Address, [10n])
    const bad = await chain(Wallet.createRandom().address as Address, [20n], rogue)
    const { included, issues } = buildBatch({
      ...base,
      epoch: 1,
      receipts: [...good, ...bad],
    })
    expect(included.map((r) => r.hash)).toEqual(good.map((r) => r.hash))
    expect(issues).toEqual([
      { type: 'untrustedMeter', assetId, meter: rogue.address, user: bad[0]!.receipt.user },
    ])
  })

  test('throws a typed error when nothing verifies', async () => {
    const bad = await chain(Wallet.createRandom().address as Address, [20n], Wallet.createRandom())
    expect(() => buildBatch({ ...base, epoch: 1, receipts: bad })).toThrow(
      InvalidBatchReceiptsError,
    )
  })
})
