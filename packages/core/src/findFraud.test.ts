import { type HDNodeWallet, Wallet } from 'ethers'
import { describe, expect, test } from 'vitest'
import { createPriceTable } from './createPriceTable.js'
import { createPriceTableTree } from './createPriceTableTree.js'
import { findFraud } from './findFraud.js'
import { hashAttestation } from './hashAttestation.js'
import { hashReceipt } from './hashReceipt.js'
import { zeroHash } from './internal/bytes.js'
import { priceTokens } from './priceUsage.js'
import { signAttestation } from './signAttestation.js'
import { signReceipt } from './signReceipt.js'
import { createDomain } from './typedData.js'
import type {
  Address,
  Hex,
  SignedRequestAttestation,
  SignedUsageReceipt,
  UsageReceipt,
} from './types.js'

const meter = Wallet.createRandom()
const user = Wallet.createRandom()
const stranger = Wallet.createRandom()
const domain = createDomain({ chainId: 31337, verifyingContract: `0x${'5f'.repeat(20)}` })
const assetId = `0x${'a5'.repeat(32)}` as Hex
const table = createPriceTable({
  models: {
    'gpt-4o': { input: 2_500_000n, cachedInput: 1_250_000n, output: 10_000_000n },
    'claude-x': {
      input: 3_000_000n,
      cachedInput: 300_000n,
      cacheWrite: 3_750_000n,
      output: 15_000_000n,
    },
  },
})
const tree = createPriceTableTree(table, { at: 0 })
const entry = (model: string) => {
  const found = tree.entries.find((e) => e.model === model)
  if (!found) throw new Error(`no leaf ${model}`)
  return found
}
const usage = {
  inputTokens: 1200,
  cachedInputTokens: 1000,
  cacheWriteTokens: 0,
  outputTokens: 300,
  reasoningTokens: 0,
}
const honestPrice = priceTokens(entry('gpt-4o'), usage)

let nonce = 0n
async function attestation(
  maxAmount: bigint,
  requestHash: Hex,
  signer: HDNodeWallet = user,
): Promise<SignedRequestAttestation> {
  return signAttestation({
    signer,
    domain,
    attestation: {
      assetId,
      user: signer.address as Address,
      requestHash,
      nonce: ++nonce,
      expiry: 2_000_000_000,
      maxAmount,
    },
  })
}

function requestHash(n: number): Hex {
  return `0x${n.toString(16).padStart(64, '0')}` as Hex
}

async function receipt(
  fields: Partial<UsageReceipt> & { seq: number },
  signer: HDNodeWallet = meter,
): Promise<SignedUsageReceipt> {
  const amount = fields.amount ?? honestPrice
  return signReceipt({
    signer,
    domain,
    receipt: {
      assetId,
      meter: signer.address as Address,
      user: user.address as Address,
      prev: zeroHash,
      requestHash: requestHash(fields.seq),
      responseHash: requestHash(1000 + fields.seq),
      model: 'gpt-4o',
      ...usage,
      usageSource: 'reported',
      amount,
      cumulativeAmount: amount,
      priceTable: tree.root,
      attestation: zeroHash,
      timestamp: 1_760_000_000,
      ...fields,
    },
  })
}

/** A receipt answering `att`, as an honest meter names it. */
async function answering(
  att: SignedRequestAttestation,
  fields: Partial<UsageReceipt> & { seq: number },
): Promise<SignedUsageReceipt> {
  return receipt({
    requestHash: att.requestHash,
    attestation: hashAttestation(att, domain),
    ...fields,
  })
}

describe('findFraud', () => {
  test('an honest history (priced right, within the caps, one receipt per seq) proves nothing', async () => {
    const atts = await Promise.all([1, 2, 3].map((n) => attestation(honestPrice, requestHash(n))))
    const receipts = await Promise.all(
      atts.map((att, i) => answering(att, { seq: i + 1, amount: honestPrice })),
    )
    // The same receipt twice (delivered inline and fetched again) is not a fork.
    const frauds = findFraud({
      domain,
      receipts: [...receipts, receipts[0]!],
      attestations: atts,
      priceTables: [tree],
    })
    expect(frauds).toEqual([])
  })

  test('equivocation: two signed receipts of one seq, paid the larger amount', async () => {
    const a = await receipt({ seq: 4, amount: 70n })
    const b = await receipt({ seq: 4, amount: 90n, responseHash: requestHash(99) })
    const other = await receipt({ seq: 5, amount: 70n })
    const frauds = findFraud({ domain, receipts: [a, b, other] })
    expect(frauds).toHaveLength(1)
    expect(frauds[0]).toMatchObject({
      kind: 'equivocation',
      a: b,
      b: a,
      hashes: [hashReceipt(b, domain), hashReceipt(a, domain)],
      compensation: 90n,
    })
  })

  test('no equivocation across meters, users or assets, nor with a forged second receipt', async () => {
    const a = await receipt({ seq: 4 })
    const otherMeter = await receipt({ seq: 4 }, stranger)
    const otherUser = await receipt({ seq: 4, user: stranger.address as Address })
    const otherAsset = await receipt({ seq: 4, assetId: `0x${'b6'.repeat(32)}` })
    const forged = { ...(await receipt({ seq: 4, amount: 1n })), signature: a.signature }
    expect(findFraud({ domain, receipts: [a, otherMeter, otherUser, otherAsset, forged] })).toEqual(
      [],
    )
  })

  test('overcharge: amount above the maxAmount of the attestation the receipt names', async () => {
    const att = await attestation(100n, requestHash(7))
    const r = await answering(att, { seq: 1, amount: 130n })
    const frauds = findFraud({ domain, receipts: [r], attestations: [att] })
    expect(frauds).toEqual([
      {
        kind: 'overcharge',
        receipt: r,
        hash: hashReceipt(r, domain),
        attestation: att,
        compensation: 30n,
      },
    ])
  })

  test('no overcharge at the cap, for another attestation, another signer or another request', async () => {
    const att = await attestation(100n, requestHash(7))
    const atCap = await answering(att, { seq: 1, amount: 100n })
    const lower = await attestation(10n, requestHash(7))
    // Names `att` (cap 100): a lower cap the user signed for the same body proves nothing.
    const namesOther = await answering(att, { seq: 2, amount: 50n })
    const byStranger = await attestation(10n, requestHash(8), stranger)
    const strangers = await answering(byStranger, { seq: 3, amount: 50n })
    const otherRequest = await receipt({
      seq: 4,
      amount: 500n,
      attestation: hashAttestation(att, domain),
      requestHash: requestHash(9),
    })
    const forgedAtt = { ...(await attestation(1n, requestHash(10))), maxAmount: 0n }
    const againstForged = await answering(forgedAtt, { seq: 5, amount: 50n })
    expect(
      findFraud({
        domain,
        receipts: [atCap, namesOther, strangers, otherRequest, againstForged],
        attestations: [att, lower, byStranger, forgedAtt],
      }),
    ).toEqual([])
  })

  test('mispricing: amount above the committed price of the receipt tokens, by the snapshot base too', async () => {
    const over = await receipt({ seq: 1, amount: honestPrice + 5n })
    const snapshot = await receipt({ seq: 2, model: 'gpt-4o-2024-08-06', amount: honestPrice + 1n })
    const claudeUsage = { ...usage, cacheWriteTokens: 150, cachedInputTokens: 50 }
    const claudePrice = priceTokens(entry('claude-x'), claudeUsage)
    const claude = await receipt({
      seq: 3,
      model: 'claude-x',
      ...claudeUsage,
      amount: claudePrice + 2n,
    })
    const frauds = findFraud({ domain, receipts: [over, snapshot, claude], priceTables: [tree] })
    expect(frauds.map((f) => [f.kind, f.compensation])).toEqual([
      ['mispricing', 5n],
      ['mispricing', 1n],
      ['mispricing', 2n],
    ])
    const [first, second] = frauds
    expect(first).toMatchObject({ entry: entry('gpt-4o'), price: honestPrice })
    expect(first?.kind === 'mispricing' && first.proof).toEqual(tree.getProof('gpt-4o'))
    expect(second).toMatchObject({ entry: entry('gpt-4o') })
  })

  test('no mispricing for an undercharge, an unknown table or an unpriced model', async () => {
    const under = await receipt({ seq: 1, amount: honestPrice - 1n })
    const unknownTable = await receipt({
      seq: 2,
      amount: honestPrice + 9n,
      priceTable: requestHash(5),
    })
    const unpriced = await receipt({ seq: 3, model: 'gpt-5', amount: 10n ** 9n })
    expect(
      findFraud({ domain, receipts: [under, unknownTable, unpriced], priceTables: [tree] }),
    ).toEqual([])
  })

  test('impossible token counts (cached > input, reasoning > output) cannot hide a mispricing', async () => {
    // Every listed token is priced; the impossible remainder counts as 0, as on chain.
    const counts = {
      inputTokens: 100,
      cachedInputTokens: 1300,
      outputTokens: 10,
      reasoningTokens: 50,
    }
    const floor = (1300n * 1_250_000n + 50n * 10_000_000n + 999_999n) / 1_000_000n
    const impossible = await receipt({ seq: 4, ...counts, amount: floor + 9n })
    expect(findFraud({ domain, receipts: [impossible], priceTables: [tree] })).toMatchObject([
      { kind: 'mispricing', price: floor, compensation: 9n },
    ])
  })

  test('a receipt both over the cap and mispriced is listed as both (the contract pays it once)', async () => {
    const att = await attestation(honestPrice, requestHash(3))
    const r = await answering(att, { seq: 1, amount: honestPrice + 40n })
    const frauds = findFraud({ domain, receipts: [r], attestations: [att], priceTables: [tree] })
    expect(frauds.map((f) => [f.kind, f.compensation])).toEqual([
      ['overcharge', 40n],
      ['mispricing', 40n],
    ])
  })
})
