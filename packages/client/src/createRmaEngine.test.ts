import {
  type Address,
  createDomain,
  decodeAck,
  encodeReceipt,
  type Hex,
  hashBytes,
  hashReceipt,
  type SignedUsageReceipt,
  signReceipt,
  zeroHash,
} from '@rma/core'
import { Wallet } from 'ethers'
import { describe, expect, test } from 'vitest'
import { createRmaEngine } from './createRmaEngine.js'
import { ChainMismatchError } from './errors.js'

const meter = Wallet.createRandom()
const user = Wallet.createRandom()
const assetId = `0x${'a7'.repeat(32)}` as Hex
const settlementContract = `0x${'5e'.repeat(20)}` as Address
const domain = createDomain({ chainId: 31337, verifyingContract: settlementContract })
const url = new URL('http://meter.test/v1/chat/completions')
const usage = { inputTokens: 10, cachedInputTokens: 0, outputTokens: 5, reasoningTokens: 0 }
const responseHash = hashBytes(new TextEncoder().encode('{"id":"x"}'))

function engine() {
  return createRmaEngine({
    signer: user,
    assetId,
    chainId: 31337,
    settlementContract,
    meters: [meter.address as Address],
    maxAmountPerCall: 1_000n,
    prepaid: true,
  })
}

/** The meter's receipt `seq` of the user's chain for a call, with the given running total. */
async function receipt(
  body: Uint8Array,
  seq: number,
  prev: Hex,
  cumulativeAmount: bigint,
  /** The digest of the call's attestation, which an honest receipt carries. */
  attestation: Hex,
): Promise<SignedUsageReceipt> {
  return signReceipt({
    signer: meter,
    domain,
    receipt: {
      assetId,
      meter: meter.address as Address,
      user: user.address.toLowerCase() as Address,
      seq,
      prev,
      requestHash: hashBytes(body),
      responseHash,
      model: 'gpt-4o-mini',
      ...usage,
      cacheWriteTokens: 0,
      usageSource: 'reported',
      amount: 100n,
      cumulativeAmount,
      priceTable: zeroHash,
      attestation,
      timestamp: Math.floor(Date.now() / 1000),
    },
  })
}

const observed = { responseHash, usage, model: 'gpt-4o-mini', failed: false }
const bodyOf = (n: number) => new TextEncoder().encode(`{"model":"gpt-4o-mini","n":${n}}`)

describe('acks in prepaid mode', () => {
  test('a receipt above a hole (a call still in flight) is not acked until the hole is filled and checked', async () => {
    const { begin, settle } = engine()
    const [a, b] = [bodyOf(1), bodyOf(2)]
    const first = await begin(url, a)
    const second = await begin(url, b)
    const r1 = await receipt(a, 1, zeroHash, 100n, first.call.attestation)
    // Receipt 2 arrives first and claims 1,000 more than the two receipts charge: its total
    // cannot be checked while receipt 1 is missing.
    const r2 = await receipt(b, 2, hashReceipt(r1, domain), 1_200n, second.call.attestation)
    expect(await settle(second.call, { encoded: encodeReceipt(r2), observed })).not.toBeInstanceOf(
      Error,
    )
    const third = await begin(url, bodyOf(3))
    expect(third.headers['rma-ack']).toBeUndefined()
    // Receipt 1 arrives: the chain's totals disagree, the chain is disputed, nothing is acked.
    const outcome = await settle(first.call, { encoded: encodeReceipt(r1), observed })
    expect(outcome).toBeInstanceOf(ChainMismatchError)
    expect(outcome).toMatchObject({ kind: 'cumulativeAmount', seq: 1 })
    const fourth = await begin(url, bodyOf(4))
    expect(fourth.headers['rma-ack']).toBeUndefined()
  })

  test('honest receipts arriving out of order: the run is acked once it is whole, every call acks', async () => {
    const { begin, settle } = engine()
    const [a, b] = [bodyOf(5), bodyOf(6)]
    const first = await begin(url, a)
    const second = await begin(url, b)
    const r1 = await receipt(a, 1, zeroHash, 100n, first.call.attestation)
    const r2 = await receipt(b, 2, hashReceipt(r1, domain), 200n, second.call.attestation)
    await settle(second.call, { encoded: encodeReceipt(r2), observed })
    expect((await begin(url, bodyOf(7))).headers['rma-ack']).toBeUndefined()
    await settle(first.call, { encoded: encodeReceipt(r1), observed })
    const ack = decodeAck((await begin(url, bodyOf(8))).headers['rma-ack'])
    expect(ack).toMatchObject({
      seq: 2,
      cumulativeAmount: 200n,
      receiptHash: hashReceipt(r2, domain),
    })
  })
})
