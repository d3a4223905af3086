import { encodeAck, encodeReceipt, type SignedReceiptAck, type SignedUsageReceipt } from '@rma/core'

// The layouts stored before cumulative amounts (tags 1 and 3): what an older @rma/store wrote,
// for migration tests. The signature is kept as it is.

const MODEL_OFFSET = 1 + 32 + 20 + 20 + 8 + 32 + 32 + 32

/** A receipt encoded as a store before schema v4 (SQLite) / v3 (PostgreSQL) held it. */
export function legacyReceiptEncoding(receipt: SignedUsageReceipt): string {
  const bytes = Buffer.from(encodeReceipt(receipt), 'base64url')
  let offset = MODEL_OFFSET
  offset += 2 + bytes.readUInt16BE(offset) + 4 * 8 + 1
  offset += 1 + bytes[offset]! // amount
  const cumulativeEnd = offset + 1 + bytes[offset]!
  return Buffer.concat([
    Buffer.of(1),
    bytes.subarray(1, offset),
    bytes.subarray(cumulativeEnd),
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
