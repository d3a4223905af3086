import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Address,
  createDomain,
  encodeAck,
  encodeReceipt,
  type Hex,
  hashReceipt,
  type SignedUsageReceipt,
  signAck,
  signReceipt,
  zeroHash,
} from '@rma/core'
import { Wallet } from 'ethers'
import { describe, expect, test } from 'vitest'
import { createFileLedgerStore } from './createFileLedgerStore.js'
import { createLedger } from './createLedger.js'
import { createMemoryLedgerStore } from './createMemoryLedgerStore.js'
import type { ReceiptRecord } from './types.js'

const domain = createDomain({ chainId: 31337, verifyingContract: `0x${'5e'.repeat(20)}` })
const meter = Wallet.createRandom()
const user = Wallet.createRandom()
const assetX: Hex = `0x${'a5'.repeat(32)}`
const assetY: Hex = `0x${'b6'.repeat(32)}`

/** A validly signed chain of `n` receipts of one asset. */
async function chain(
  n: number,
  assetId: Hex = assetX,
): Promise<{ receipt: SignedUsageReceipt; hash: Hex; encoded: string }[]> {
  const out: { receipt: SignedUsageReceipt; hash: Hex; encoded: string }[] = []
  let prev: Hex = zeroHash
  for (let seq = 1; seq <= n; seq++) {
    const receipt = await signReceipt({
      signer: meter,
      domain,
      receipt: {
        assetId,
        meter: meter.address.toLowerCase() as Address,
        user: user.address.toLowerCase() as Address,
        seq,
        prev,
        requestHash: `0x${'01'.repeat(32)}`,
        responseHash: `0x${'02'.repeat(32)}`,
        model: seq % 2 ? 'gpt-4o-mini' : 'text-embedding-3-small',
        inputTokens: 100,
        cachedInputTokens: 10,
        cacheWriteTokens: 0,
        outputTokens: 5,
        reasoningTokens: 0,
        usageSource: 'reported',
        amount: 7n,
        cumulativeAmount: 7n * BigInt(seq),
        priceTable: zeroHash,
        attestation: zeroHash,
        timestamp: 1_760_000_000 + seq,
      },
    })
    prev = hashReceipt(receipt, domain)
    out.push({ receipt, hash: prev, encoded: encodeReceipt(receipt) })
  }
  return out
}

const record = (r: { receipt: SignedUsageReceipt; hash: Hex; encoded: string }): ReceiptRecord => ({
  id: `call-${r.receipt.seq}`,
  requestId: undefined,
  hash: r.hash,
  receipt: r.receipt,
  encoded: r.encoded,
  checks: { usage: 'matched', response: 'matched', price: 'matched' },
  receivedAt: 1,
})

describe('createLedger', () => {
  test('one meter key serving two assets: calls X, Y, X make two gap-free chains (M4)', async () => {
    const [x1, x2] = await chain(2, assetX)
    const [y1] = await chain(1, assetY)
    const ledger = createLedger({ domain, store: createMemoryLedgerStore(), onError: () => {} })
    for (const r of [x1!, y1!, x2!]) {
      // Y's seq 1 is neither a fork nor a duplicate of X's seq 1, and X's seq 2 has no gap.
      expect(ledger.checkChain(r.receipt, r.hash, false)).toBeUndefined()
      ledger.link(r.receipt, r.hash, r.encoded)
      ledger.accept(record(r), undefined)
    }
    const ref = { meter: meter.address as Address, user: user.address as Address }
    const x = ledger.chain({ ...ref, assetId: assetX })!
    const y = ledger.chain({ ...ref, assetId: assetY })!
    expect([x.assetId, x.min, x.max, x.head?.receipt.seq]).toEqual([assetX, 1, 2, 2])
    expect([y.assetId, y.min, y.max, y.head?.receipt.seq]).toEqual([assetY, 1, 1, 1])
    expect([...ledger.chains()]).toHaveLength(2)
  })

  test('chain checks: continuation, fork, duplicate, broken link, gap (now or once calls settle)', async () => {
    const [r1, r2, r3, r4] = await chain(4)
    const ledger = createLedger({ domain, store: createMemoryLedgerStore(), onError: () => {} })
    expect(ledger.checkChain(r1!.receipt, r1!.hash, false)).toBeUndefined()
    ledger.link(r1!.receipt, r1!.hash, r1!.encoded)
    expect(ledger.checkChain(r1!.receipt, r1!.hash, false)).toMatchObject({ kind: 'duplicate' })
    const other = { ...r2!.receipt, seq: 1, prev: zeroHash }
    expect(ledger.checkChain(other, hashReceipt(other, domain), false)).toMatchObject({
      kind: 'fork',
      seq: 1,
      conflicting: r1!.encoded,
    })
    const badLink = { ...r2!.receipt, prev: `0x${'11'.repeat(32)}` as Hex }
    expect(ledger.checkChain(badLink, hashReceipt(badLink, domain), false)).toMatchObject({
      kind: 'brokenLink',
    })
    expect(ledger.checkChain(r3!.receipt, r3!.hash, false)).toMatchObject({
      kind: 'gap',
      details: "No receipt at seq 2 (the chain's latest is 1).",
    })
    expect(ledger.checkChain(r3!.receipt, r3!.hash, true)).toBe('deferred')
    ledger.link(r3!.receipt, r3!.hash, r3!.encoded)
    expect(ledger.takeGaps().map((g) => g.seq)).toEqual([2])
    ledger.link(r4!.receipt, r4!.hash, r4!.encoded)
    expect(ledger.checkChain(r2!.receipt, r2!.hash, false)).toBeUndefined()
    const seqOneBadPrev = { ...r1!.receipt, prev: r1!.hash }
    const fresh = createLedger({ domain, store: createMemoryLedgerStore(), onError: () => {} })
    expect(
      fresh.checkChain(seqOneBadPrev, hashReceipt(seqOneBadPrev, domain), false),
    ).toMatchObject({
      kind: 'brokenLink',
    })
  })

  test('a file store keeps receipts, acks and rejections across restarts; totals and export', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rma-ledger-')), 'sub', 'ledger.jsonl')
    const receipts = await chain(3)
    const first = createLedger({
      domain,
      store: createFileLedgerStore({ path }),
      onError: () => {},
    })
    await first.ready
    for (const r of receipts.slice(0, 2)) {
      first.link(r.receipt, r.hash, r.encoded)
      first.accept(record(r), 'http://127.0.0.1:1')
    }
    const head = first.chain({
      assetId: assetX,
      meter: meter.address as Address,
      user: user.address as Address,
    })!
    const ack = await signAck({
      signer: user,
      domain,
      ack: {
        assetId: receipts[1]!.receipt.assetId,
        user: user.address as Address,
        meter: meter.address as Address,
        seq: 2,
        receiptHash: receipts[1]!.hash,
        cumulativeAmount: receipts[1]!.receipt.cumulativeAmount,
      },
    })
    first.addAck(encodeAck(ack), head, 2)
    first.reject({
      id: 'call-x',
      requestId: undefined,
      encoded: undefined,
      code: 'RECEIPT_MISSING',
      message: 'm',
      at: 2,
    })
    await new Promise((r) => setTimeout(r, 50))

    const second = createLedger({
      domain,
      store: createFileLedgerStore({ path }),
      onError: () => {},
    })
    await second.ready
    expect(second.list().map((r) => r.receipt.seq)).toEqual([1, 2])
    expect(second.get(receipts[1]!.hash)?.id).toBe('call-2')
    expect(second.get('call-1')?.hash).toBe(receipts[0]!.hash)
    const restored = second.chain({
      assetId: assetX,
      meter: meter.address as Address,
      user: user.address as Address,
    })!
    expect(restored.ackedSeq).toBe(2)
    expect(restored.head?.receipt.seq).toBe(2)
    expect(second.checkChain(receipts[2]!.receipt, receipts[2]!.hash, false)).toBeUndefined()
    expect(second.totals()).toEqual({
      all: {
        calls: 2,
        amount: 14n,
        inputTokens: 200,
        cachedInputTokens: 20,
        outputTokens: 10,
        reasoningTokens: 0,
      },
      byAsset: {
        [`0x${'a5'.repeat(32)}`]: {
          calls: 2,
          amount: 14n,
          inputTokens: 200,
          cachedInputTokens: 20,
          outputTokens: 10,
          reasoningTokens: 0,
        },
      },
      byModel: {
        'gpt-4o-mini': {
          calls: 1,
          amount: 7n,
          inputTokens: 100,
          cachedInputTokens: 10,
          outputTokens: 5,
          reasoningTokens: 0,
        },
        'text-embedding-3-small': {
          calls: 1,
          amount: 7n,
          inputTokens: 100,
          cachedInputTokens: 10,
          outputTokens: 5,
          reasoningTokens: 0,
        },
      },
    })
    const exported = second.exportJSON()
    expect(JSON.parse(JSON.stringify(exported))).toEqual(exported)
    expect(exported).toMatchObject({
      format: 'rma.ledger/1',
      domain: { chainId: '31337' },
      acks: [encodeAck(ack)],
      rejected: [{ id: 'call-x', code: 'RECEIPT_MISSING', encoded: null }],
    })
    expect(exported.receipts.map((r) => r.encoded)).toEqual([
      receipts[0]!.encoded,
      receipts[1]!.encoded,
    ])
  })
})
