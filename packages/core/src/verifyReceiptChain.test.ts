import { type Signer, Wallet } from 'ethers'
import { describe, expect, test } from 'vitest'
import { chainKey } from './chainKey.js'
import { CumulativeAmountMismatchError } from './errors.js'
import { hashReceipt } from './hashReceipt.js'
import { zeroHash } from './internal/bytes.js'
import { signReceipt } from './signReceipt.js'
import { createDomain } from './typedData.js'
import type { Address, Hex, SignedUsageReceipt } from './types.js'
import { verifyReceiptChain } from './verifyReceiptChain.js'

const domain = createDomain({ chainId: 31337, verifyingContract: `0x${'5f'.repeat(20)}` })
const meterA = Wallet.createRandom()
const meterB = Wallet.createRandom()
const users = [1, 2, 3].map(() => Wallet.createRandom().address as Address)
const trusted = [meterA.address, meterB.address] as Address[]
const assetX: Hex = `0x${'aa'.repeat(32)}`
const assetY: Hex = `0x${'bb'.repeat(32)}`

async function chain(
  meter: Signer & { address: string },
  user: Address,
  length: number,
  from: { seq: number; hash: Hex; cumulativeAmount?: bigint } = { seq: 0, hash: zeroHash },
  assetId: Hex = assetX,
): Promise<SignedUsageReceipt[]> {
  const out: SignedUsageReceipt[] = []
  let prev = from.hash
  let cumulative = from.cumulativeAmount ?? 0n
  for (let i = 1; i <= length; i++) {
    const receipt = {
      assetId,
      meter: meter.address as Address,
      user,
      seq: from.seq + i,
      prev,
      requestHash: `0x${i.toString(16).padStart(64, '0')}` as Hex,
      responseHash: `0x${(i * 7).toString(16).padStart(64, '0')}` as Hex,
      model: 'gpt-4o-mini',
      inputTokens: 100 + i,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 20,
      reasoningTokens: 0,
      usageSource: 'reported' as const,
      amount: BigInt(1000 + i),
      cumulativeAmount: cumulative + BigInt(1000 + i),
      priceTable: zeroHash,
      attestation: zeroHash,
      timestamp: 1_750_000_000 + i,
    }
    const signed = await signReceipt({ receipt, signer: meter, domain })
    out.push(signed)
    prev = hashReceipt(signed, domain)
    cumulative = signed.cumulativeAmount
  }
  return out
}

const verify = (
  receipts: SignedUsageReceipt[],
  anchors?: Map<string, { seq: number; hash: Hex }>,
) => verifyReceiptChain(receipts, trusted, { domain, ...(anchors ? { anchors } : {}) })

describe('verifyReceiptChain', () => {
  test('accepts interleaved, shuffled chains of two meters and three users', async () => {
    const chains = await Promise.all([
      chain(meterA, users[0]!, 5),
      chain(meterA, users[1]!, 3),
      chain(meterB, users[0]!, 4),
      chain(meterB, users[2]!, 1),
    ])
    const all = chains
      .flat()
      .sort((a, b) => (a.requestHash + a.user < b.requestHash + b.user ? -1 : 1))
    const result = verify(all)
    expect(result.issues).toEqual([])
    expect(result.valid).toBe(true)
    expect(result.chains.map((c) => [c.meter, c.user, c.fromSeq, c.toSeq, c.count]).sort()).toEqual(
      [
        [meterA.address, users[0], 1, 5, 5],
        [meterA.address, users[1], 1, 3, 3],
        [meterB.address, users[0], 1, 4, 4],
        [meterB.address, users[2], 1, 1, 1],
      ].sort(),
    )
    expect(result.hashes).toEqual(all.map((r) => hashReceipt(r, domain)))
  })

  test('reports a gap when a receipt is missing', async () => {
    const receipts = await chain(meterA, users[0]!, 5)
    const result = verify([...receipts.slice(0, 2), ...receipts.slice(3)])
    expect(result.valid).toBe(false)
    expect(result.issues).toEqual([
      {
        type: 'gap',
        assetId: assetX,
        meter: meterA.address,
        user: users[0],
        afterSeq: 2,
        nextSeq: 4,
      },
    ])
  })

  test('a changed middle receipt breaks the next link; a changed head breaks its signature', async () => {
    const receipts = await chain(meterA, users[1]!, 4)
    const middle = receipts.map((r) => (r.seq === 2 ? { ...r, outputTokens: 999 } : r))
    expect(verify(middle).issues).toEqual([
      {
        type: 'brokenLink',
        assetId: assetX,
        meter: meterA.address,
        user: users[1],
        seq: 3,
        expected: hashReceipt(middle[1]!, domain),
        actual: receipts[2]!.prev,
      },
    ])
    const head = receipts.map((r) => (r.seq === 4 ? { ...r, outputTokens: 999 } : r))
    expect(verify(head).issues).toEqual([
      {
        type: 'badSignature',
        assetId: assetX,
        meter: meterA.address,
        user: users[1],
        seq: 4,
        hash: hashReceipt(head[3]!, domain),
      },
    ])
  })

  test('checks one signature per chain: the head commits to the receipts before it', async () => {
    const receipts = await chain(meterA, users[0]!, 3)
    const garbled = receipts.map((r) => (r.seq === 2 ? { ...r, signature: '0x00' as Hex } : r))
    expect(verify(garbled).valid).toBe(true)
    const forgedHead = receipts.map((r, i) =>
      i === 2 ? { ...r, signature: receipts[0]!.signature } : r,
    )
    expect(verify(forgedHead).issues.map((i) => i.type)).toEqual(['badSignature'])
  })

  test('reports a fork with both signatures as a proven equivocation', async () => {
    const receipts = await chain(meterB, users[2]!, 3)
    const rival = await signReceipt({
      receipt: { ...receipts[1]!, amount: 1n },
      signer: meterB,
      domain,
    })
    const result = verify([...receipts, rival])
    expect(result.issues).toEqual([
      {
        type: 'fork',
        assetId: assetX,
        meter: meterB.address,
        user: users[2],
        seq: 2,
        hashes: [hashReceipt(receipts[1]!, domain), hashReceipt(rival, domain)],
        proven: true,
      },
    ])
    const forged = { ...rival, signature: receipts[0]!.signature }
    const unproven = verify([...receipts, forged]).issues[0]
    expect(unproven).toMatchObject({ type: 'fork', seq: 2, proven: false })
  })

  test('reports a signed cumulativeAmount that does not add up, with a typed error', async () => {
    const receipts = await chain(meterA, users[0]!, 3)
    // The meter signs a chain whose seq 2 claims 1 more than the receipts charged: links and
    // signatures are fine, the running total is not.
    const inflated = await signReceipt({
      receipt: { ...receipts[1]!, cumulativeAmount: receipts[1]!.cumulativeAmount + 1n },
      signer: meterA,
      domain,
    })
    const third = await signReceipt({
      receipt: {
        ...receipts[2]!,
        prev: hashReceipt(inflated, domain),
        cumulativeAmount: inflated.cumulativeAmount + receipts[2]!.amount,
      },
      signer: meterA,
      domain,
    })
    const result = verify([receipts[0]!, inflated, third])
    expect(result.valid).toBe(false)
    expect(result.issues).toHaveLength(1)
    const issue = result.issues[0]!
    expect(issue).toMatchObject({
      type: 'cumulativeMismatch',
      seq: 2,
      expected: receipts[1]!.cumulativeAmount,
      actual: receipts[1]!.cumulativeAmount + 1n,
    })
    if (issue.type !== 'cumulativeMismatch') throw new Error('unreachable')
    expect(issue.error).toBeInstanceOf(CumulativeAmountMismatchError)
    expect(issue.error.message).toBe(
      `Receipt at seq 2 has cumulativeAmount ${receipts[1]!.cumulativeAmount + 1n}, expected ${receipts[1]!.cumulativeAmount}.\n\nDetails: cumulativeAmount must be the previous receipt’s cumulativeAmount plus this receipt’s amount (the amount itself at seq 1).`,
    )
    // The first receipt of a chain must carry exactly its own amount.
    const lowFirst = await signReceipt({
      receipt: { ...receipts[0]!, cumulativeAmount: 0n },
      signer: meterA,
      domain,
    })
    expect(verify([lowFirst]).issues).toMatchObject([
      { type: 'cumulativeMismatch', seq: 1, expected: receipts[0]!.amount, actual: 0n },
    ])
  })

  test('checks cumulativeAmount from an anchor that carries one', async () => {
    const all = await chain(meterB, users[1]!, 4)
    const anchor = { seq: 2, hash: hashReceipt(all[1]!, domain) }
    const key = chainKey(assetX, meterB.address, users[1]!)
    const tail = all.slice(2)
    expect(verify(tail, new Map([[key, anchor]])).valid).toBe(true)
    expect(
      verify(tail, new Map([[key, { ...anchor, cumulativeAmount: all[1]!.cumulativeAmount }]]))
        .valid,
    ).toBe(true)
    const wrong = verify(
      tail,
      new Map([[key, { ...anchor, cumulativeAmount: all[1]!.cumulativeAmount - 7n }]]),
    )
    expect(wrong.issues).toMatchObject([
      { type: 'cumulativeMismatch', seq: 3, actual: all[2]!.cumulativeAmount },
    ])
  })

  test('reports a receipt given twice as a duplicate', async () => {
    const receipts = await chain(meterA, users[2]!, 2)
    expect(verify([...receipts, receipts[0]!]).issues).toEqual([
      {
        type: 'duplicate',
        assetId: assetX,
        meter: meterA.address,
        user: users[2],
        seq: 1,
        hash: hashReceipt(receipts[0]!, domain),
      },
    ])
  })

  test('reports an untrusted meter without checking further', async () => {
    const rogue = Wallet.createRandom()
    const receipts = await chain(rogue, users[0]!, 2)
    expect(verify(receipts).issues).toEqual([
      { type: 'untrustedMeter', assetId: assetX, meter: rogue.address, user: users[0] },
    ])
    expect(verify(receipts).chains).toEqual([])
  })

  test('reports a malformed receipt as a typed issue, not an exception', async () => {
    const receipts = await chain(meterA, users[0]!, 2)
    const result = verify([{ ...receipts[0]!, amount: -5n }, receipts[1]!])
    expect(result.issues[0]).toMatchObject({ type: 'invalidReceipt', index: 0 })
    expect(result.issues[0]?.type === 'invalidReceipt' && result.issues[0].error.code).toBe(
      'INVALID_FIELD',
    )
    expect(result.issues[1]).toEqual({
      type: 'gap',
      assetId: assetX,
      meter: meterA.address,
      user: users[0],
      afterSeq: 0,
      nextSeq: 2,
    })
    expect(result.hashes[0]).toBeUndefined()
  })

  test('continues a chain from an anchor; without it the chain must start at seq 1 after zero', async () => {
    const first = await chain(meterA, users[0]!, 3)
    const anchor = { seq: 3, hash: hashReceipt(first[2]!, domain) }
    const rest = await chain(meterA, users[0]!, 2, anchor)
    const key = chainKey(assetX, meterA.address, users[0]!)
    expect(verify(rest, new Map([[key, anchor]])).valid).toBe(true)
    expect(verify(rest).issues).toEqual([
      {
        type: 'gap',
        assetId: assetX,
        meter: meterA.address,
        user: users[0],
        afterSeq: 0,
        nextSeq: 4,
      },
    ])
    const wrong = { seq: 3, hash: hashReceipt(first[1]!, domain) }
    expect(verify(rest, new Map([[key, wrong]])).issues).toEqual([
      {
        type: 'brokenLink',
        assetId: assetX,
        meter: meterA.address,
        user: users[0],
        seq: 4,
        expected: wrong.hash,
        actual: anchor.hash,
      },
    ])
    const badGenesis = await signReceipt({
      receipt: { ...first[0]!, prev: anchor.hash },
      signer: meterA,
      domain,
    })
    expect(verify([badGenesis]).issues).toMatchObject([
      { type: 'brokenLink', seq: 1, expected: zeroHash },
    ])
  })

  test('one meter key serving two assets keeps one chain per asset (M4: calls X, Y, X)', async () => {
    const user = users[0]!
    // What the meter signs for calls to X, Y, X: X's chain is seq 1, 2 and Y's is seq 1.
    const [x1, x2] = await chain(meterA, user, 2, undefined, assetX)
    const [y1] = await chain(meterA, user, 1, undefined, assetY)
    const result = verify([x1!, y1!, x2!])
    expect(result.issues).toEqual([])
    expect(result.chains.map((c) => [c.assetId, c.meter, c.fromSeq, c.toSeq, c.count])).toEqual([
      [assetX, meterA.address, 1, 2, 2],
      [assetY, meterA.address, 1, 1, 1],
    ])
    // Each asset's receipts alone (as each asset's settlement sees them) verify gap-free too.
    expect(verify([x1!, x2!]).valid).toBe(true)
    expect(verify([y1!]).valid).toBe(true)
    // A meter numbering across assets (X 1, Y 2, X 3), as before, shows a gap in each asset.
    const [, y2] = await chain(meterA, user, 2, undefined, assetY)
    expect(verify([y2!]).issues).toEqual([
      { type: 'gap', assetId: assetY, meter: meterA.address, user, afterSeq: 0, nextSeq: 2 },
    ])
    expect(chainKey(assetX, meterA.address, user)).not.toBe(chainKey(assetY, meterA.address, user))
    expect(chainKey(assetX.toUpperCase(), meterA.address, user)).toBe(
      chainKey(assetX, meterA.address.toLowerCase(), user),
    )
  })
})
