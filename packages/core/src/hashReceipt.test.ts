import { TypedDataEncoder } from 'ethers'
import fc from 'fast-check'
import { hashTypedData } from 'viem'
import { describe, expect, test } from 'vitest'
import { InvalidFieldError } from './errors.js'
import { hashAck } from './hashAck.js'
import { hashAttestation } from './hashAttestation.js'
import { hashBatch } from './hashBatch.js'
import { hashReceipt } from './hashReceipt.js'
import { addressArbitrary, bytes32Arbitrary, receiptArbitrary } from './testing/receiptArbitrary.js'
import {
  batchSchema,
  createDomain,
  receiptAckSchema,
  requestAttestationSchema,
  type StructSchema,
  typedDataTypes,
  typedDataValue,
  usageReceiptSchema,
} from './typedData.js'
import type { Address, RmaDomain } from './types.js'

const domainArbitrary = fc
  .record({
    chainId: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
    verifyingContract: addressArbitrary,
  })
  .map((d) => createDomain(d))

function viaEthers(schema: StructSchema, domain: RmaDomain, value: object) {
  return TypedDataEncoder.hash(domain, typedDataTypes(schema), typedDataValue(schema, value))
}

function viaViem(schema: StructSchema, domain: RmaDomain, value: object) {
  return hashTypedData({
    domain: { ...domain, verifyingContract: domain.verifyingContract as Address },
    types: typedDataTypes(schema),
    primaryType: schema.primaryType,
    message: typedDataValue(schema, value),
  })
}

describe('hashReceipt', () => {
  test('equals ethers TypedDataEncoder.hash and viem hashTypedData on 1,000 random receipts', () => {
    fc.assert(
      fc.property(receiptArbitrary, domainArbitrary, (receipt, domain) => {
        const fast = hashReceipt(receipt, domain)
        expect(fast).toBe(viaEthers(usageReceiptSchema, domain, receipt))
        expect(fast).toBe(viaViem(usageReceiptSchema, domain, receipt))
      }),
      { numRuns: 1000 },
    )
  })

  test('uses the domain: another chain or contract gives another hash', () => {
    const receipt = fc.sample(receiptArbitrary, { numRuns: 1, seed: 7 })[0]!
    const a = createDomain({ chainId: 1, verifyingContract: `0x${'11'.repeat(20)}` })
    const b = createDomain({ chainId: 2, verifyingContract: `0x${'11'.repeat(20)}` })
    const c = createDomain({ chainId: 1, verifyingContract: `0x${'22'.repeat(20)}` })
    expect(
      new Set([hashReceipt(receipt, a), hashReceipt(receipt, b), hashReceipt(receipt, c)]).size,
    ).toBe(3)
  })

  test('accepts mixed-case hex and hashes it as the same bytes', () => {
    const receipt = fc.sample(receiptArbitrary, { numRuns: 1, seed: 3 })[0]!
    const domain = createDomain({ chainId: 10, verifyingContract: `0x${'ab'.repeat(20)}` })
    const upper = { ...receipt, meter: `0x${receipt.meter.slice(2).toUpperCase()}` as Address }
    expect(hashReceipt(upper, domain)).toBe(hashReceipt(receipt, domain))
  })

  test.each([
    [
      'assetId',
      '0x1234',
      'Invalid value for field "assetId": expected 0x-prefixed hex of 32 bytes.',
    ],
    [
      'meter',
      `0x${'zz'.repeat(20)}`,
      'Invalid value for field "meter": expected 0x-prefixed hex of 20 bytes.',
    ],
    ['seq', -1, 'Invalid value for field "seq": expected a non-negative safe integer.'],
    ['seq', 1.5, 'Invalid value for field "seq": expected a non-negative safe integer.'],
    [
      'inputTokens',
      2 ** 53,
      'Invalid value for field "inputTokens": expected a non-negative safe integer.',
    ],
    ['amount', -1n, 'Invalid value for field "amount": expected a bigint in [0, 2^256).'],
    ['amount', 1n << 256n, 'Invalid value for field "amount": expected a bigint in [0, 2^256).'],
    ['amount', 5, 'Invalid value for field "amount": expected a bigint in [0, 2^256).'],
    ['model', undefined, 'Invalid value for field "model": expected a well-formed Unicode string.'],
    [
      'model',
      'gpt\ud800',
      'Invalid value for field "model": expected a well-formed Unicode string.',
    ],
    [
      'usageSource',
      'guessed',
      'Invalid value for field "usageSource": expected one of reported, estimated, partial.',
    ],
  ])('rejects a malformed %s with InvalidFieldError', (field, value, message) => {
    const receipt = fc.sample(receiptArbitrary, { numRuns: 1, seed: 1 })[0]!
    const domain = createDomain({ chainId: 1, verifyingContract: `0x${'11'.repeat(20)}` })
    const bad = { ...receipt, [field]: value }
    const error = (() => {
      try {
        hashReceipt(bad, domain)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(InvalidFieldError)
    expect((error as InvalidFieldError).code).toBe('INVALID_FIELD')
    expect((error as InvalidFieldError).shortMessage).toBe(message)
  })
})

describe('hashAttestation, hashAck, hashBatch', () => {
  const uint64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
  const uint256 = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n })

  test('hashAttestation equals ethers and viem on 300 random attestations', () => {
    const attestation = fc.record({
      assetId: bytes32Arbitrary,
      user: addressArbitrary,
      requestHash: bytes32Arbitrary,
      nonce: uint256,
      expiry: uint64,
      maxAmount: uint256,
    })
    fc.assert(
      fc.property(attestation, domainArbitrary, (value, domain) => {
        expect(hashAttestation(value, domain)).toBe(
          viaEthers(requestAttestationSchema, domain, value),
        )
        expect(hashAttestation(value, domain)).toBe(
          viaViem(requestAttestationSchema, domain, value),
        )
      }),
      { numRuns: 300 },
    )
  })

  test('hashAck equals ethers and viem on 300 random acks', () => {
    const ack = fc.record({
      assetId: bytes32Arbitrary,
      user: addressArbitrary,
      meter: addressArbitrary,
      seq: uint64,
      receiptHash: bytes32Arbitrary,
      cumulativeAmount: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
    })
    fc.assert(
      fc.property(ack, domainArbitrary, (value, domain) => {
        expect(hashAck(value, domain)).toBe(viaEthers(receiptAckSchema, domain, value))
        expect(hashAck(value, domain)).toBe(viaViem(receiptAckSchema, domain, value))
      }),
      { numRuns: 300 },
    )
  })

  test('hashBatch equals ethers and viem on 300 random batches', () => {
    const batch = fc.record({
      assetId: bytes32Arbitrary,
      epoch: uint64,
      revenue: uint256,
      receiptCount: uint64,
      receiptsRoot: bytes32Arbitrary,
      rebateRoot: bytes32Arbitrary,
      batchHash: bytes32Arbitrary,
      batchUri: fc.webUrl(),
    })
    fc.assert(
      fc.property(batch, domainArbitrary, (value, domain) => {
        expect(hashBatch(value, domain)).toBe(viaEthers(batchSchema, domain, value))
        expect(hashBatch(value, domain)).toBe(viaViem(batchSchema, domain, value))
      }),
      { numRuns: 300 },
    )
    // A generous bound: 300 runs through three hashers take seconds on a loaded 2-core machine.
  }, 120_000)
})
