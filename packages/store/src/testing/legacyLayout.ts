import { encodeAck, encodeReceipt, type SignedReceiptAck, type SignedUsageReceipt } from '@rma/core'

// The layouts older stores held, for migration tests: tag 1 (before cumulative amounts) and
// tag 4 (before cacheWriteTokens, priceTable, attestation). The signature is kept as it is.

const MODEL_OFFSET = 1 + 32 + 20 + 20 + 8 + 32 + 32 + 32

/**
 * A receipt encoded as an older store held it: tag 1 (before schema v4 SQLite / v3
 * PostgreSQL) by default, or tag 4 (before v5 / v5). The receipt's `cacheWriteTokens`,
 * `priceTable` and `attestation` are dropped (a migration brings them back as zeros).
 */
export function legacyReceiptEncoding(receipt: SignedUsageReceipt, tag: 1 | 4 = 1): string {
  const bytes = Buffer.from(encodeReceipt(receipt), 'base64url')
  let offset = MODEL_OFFSET
  offset += 2 + bytes.readUInt16BE(offset)
  const cachedEnd = offset + 16
  const usageStart = cachedEnd + 8 // after cacheWriteTokens
  offset = usageStart + 16 + 1
  offset += 1 + bytes[offset]! // amount
  const amountEnd = offset
  const cumulativeEnd = offset + 1 + bytes[offset]!
  return Buffer.concat([
    Buffer.of(tag),
    bytes.subarray(1, cachedEnd),
    bytes.subarray(usageStart, tag === 1 ? amountEnd : cumulativeEnd),
    bytes.subarray(cumulativeEnd + 64), // timestamp, signature
  ]).toString('base64url')
}

/** An ack encoded as a store before schema v4 (SQLite) / v3 (PostgreSQL) held it. */
export function legacyAckEncoding(ack: SignedReceiptAck): string {
  const bytes = Buffer.from(encodeAck(ack), 'base64url')
  const offset = 1 + 32 + 20 + 20 + 8 + 32
  return Buffer.concat([
    Buffer.of(3),
    bytes.subarray(1, offset),
    bytes.subarray(offset + 1 + bytes[offset]!),
  ]).toString('base64url')
}
