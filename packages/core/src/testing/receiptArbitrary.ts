import fc from 'fast-check'
import { usageSources } from '../typedData.js'
import type { Hex, UsageReceipt } from '../types.js'

const hexOf = (bytes: number) =>
  fc
    .uint8Array({ minLength: bytes, maxLength: bytes })
    .map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex)

export const bytes32Arbitrary = hexOf(32)
export const addressArbitrary = hexOf(20)
const uint64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })

/** Random well-formed receipts, with token counts respecting cached + cacheWrite ≤ input, reasoning ⊆ output. */
export const receiptArbitrary: fc.Arbitrary<UsageReceipt> = fc
  .record({
    assetId: bytes32Arbitrary,
    meter: addressArbitrary,
    user: addressArbitrary,
    seq: uint64,
    prev: bytes32Arbitrary,
    requestHash: bytes32Arbitrary,
    responseHash: bytes32Arbitrary,
    model: fc.string({ unit: 'grapheme', maxLength: 40 }),
    inputTokens: uint64,
    cachedInputTokens: uint64,
    cacheWriteTokens: uint64,
    outputTokens: uint64,
    reasoningTokens: uint64,
    usageSource: fc.constantFrom(...usageSources),
    amount: fc.bigInt({ min: 0n, max: (1n << 255n) - 1n }),
    cumulativeAmount: fc.bigInt({ min: 0n, max: (1n << 255n) - 1n }),
    priceTable: bytes32Arbitrary,
    attestation: bytes32Arbitrary,
    timestamp: uint64,
  })
  .map((r) => ({
    ...r,
    cachedInputTokens: Math.min(r.cachedInputTokens, r.inputTokens),
    cacheWriteTokens: Math.min(
      r.cacheWriteTokens,
      r.inputTokens - Math.min(r.cachedInputTokens, r.inputTokens),
    ),
    reasoningTokens: Math.min(r.reasoningTokens, r.outputTokens),
    // The running total includes the receipt's own amount.
    cumulativeAmount: r.amount + r.cumulativeAmount,
  }))
