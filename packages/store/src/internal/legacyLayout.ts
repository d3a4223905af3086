import { InvalidEncodingError } from '@rma/core'

// Receipts stored in an older layout are rewritten to the current one when a store migrates, so
// every stored row decodes:
// - tag 1 (before SQLite v4 / PostgreSQL v3): no `cumulativeAmount`; the migration inserts the
//   chain's running total;
// - tag 4 (before SQLite v5 / PostgreSQL v5): no `cacheWriteTokens`, `priceTable`,
//   `attestation`; the migration inserts zeros (no cache writes, no committed table, no
//   attestation digest), which is what those receipts meant.
// Acks: tag 3 (no `cumulativeAmount`) becomes tag 5. Signatures were made over the old layout
// and stay as they were: such a receipt keeps its stored hash (its id, prev link and tree leaf)
// but no longer verifies against the current schema. Settle before upgrading.

const V1_RECEIPT_TAG = 1
const V4_RECEIPT_TAG = 4
const RECEIPT_TAG = 6
const LEGACY_ACK_TAG = 3
const ACK_TAG = 5
const SIGNATURE_BYTES = 65
/** tag, assetId, meter, user, seq, prev, requestHash, responseHash */
const MODEL_OFFSET = 1 + 32 + 20 + 20 + 8 + 32 + 32 + 32

/** A uint256 as the compact codec writes it: a length byte and its minimal big-endian bytes. */
function uint256Bytes(value: bigint): Buffer {
  if (value === 0n) return Buffer.of(0)
  const hex = value.toString(16)
  const digits = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex')
  return Buffer.concat([Buffer.of(digits.length), digits])
}

function legacyError(what: string): InvalidEncodingError {
  return new InvalidEncodingError({
    shortMessage: `Stored ${what} has neither the current nor an older layout.`,
  })
}

/**
 * Rewrites a receipt stored in an older layout (tag 1 or 4) into the current one, given the
 * chain's running total before it (used by tag 1 only). Returns its amount, running total and
 * the new encoding; a receipt already in the current layout comes back unchanged.
 */
export function upgradeLegacyReceipt(
  encoded: string,
  previousCumulative: bigint,
): { encoded: string; amount: bigint; cumulativeAmount: bigint } {
  const bytes = Buffer.from(encoded, 'base64url')
  const tag = bytes[0]
  if (tag !== RECEIPT_TAG && tag !== V4_RECEIPT_TAG && tag !== V1_RECEIPT_TAG)
    throw legacyError('receipt')
  let offset = MODEL_OFFSET
  if (bytes.length < offset + 2) throw legacyError('receipt')
  offset += 2 + bytes.readUInt16BE(offset) // model
  const cachedEnd = offset + 2 * 8 // inputTokens, cachedInputTokens
  offset = cachedEnd + (tag === RECEIPT_TAG ? 8 : 0) + 2 * 8 + 1 // (cacheWrite), output, reasoning, usageSource
  const readUint256 = () => {
    const length = bytes[offset]
    if (length === undefined || length > 32 || offset + 1 + length > bytes.length)
      throw legacyError('receipt')
    const value =
      length === 0
        ? 0n
        : BigInt(`0x${bytes.subarray(offset + 1, offset + 1 + length).toString('hex')}`)
    offset += 1 + length
    return value
  }
  const amount = readUint256()
  const cumulativeAmount = tag === V1_RECEIPT_TAG ? previousCumulative + amount : readUint256()
  if (tag === RECEIPT_TAG) return { encoded, amount, cumulativeAmount }
  const amountsEnd = offset
  if (bytes.length !== amountsEnd + 8 + SIGNATURE_BYTES) throw legacyError('receipt')
  const upgraded = Buffer.concat([
    Buffer.of(RECEIPT_TAG),
    bytes.subarray(1, cachedEnd),
    Buffer.alloc(8), // cacheWriteTokens
    bytes.subarray(cachedEnd, amountsEnd), // output, reasoning, usageSource, amount (, total)
    tag === V1_RECEIPT_TAG ? uint256Bytes(cumulativeAmount) : Buffer.alloc(0),
    Buffer.alloc(64), // priceTable, attestation
    bytes.subarray(amountsEnd), // timestamp, signature
  ])
  return { encoded: upgraded.toString('base64url'), amount, cumulativeAmount }
}

/**
 * Rewrites an ack stored in the layout without `cumulativeAmount` into the current one, with
 * the cumulative amount of the receipt it names; one in the current layout comes back unchanged.
 */
export function upgradeLegacyAck(encoded: string, cumulativeAmount: bigint): string {
  const bytes = Buffer.from(encoded, 'base64url')
  if (bytes[0] === ACK_TAG) return encoded
  if (bytes[0] !== LEGACY_ACK_TAG || bytes.length !== 1 + 32 + 20 + 20 + 8 + 32 + SIGNATURE_BYTES)
    throw legacyError('ack')
  const split = bytes.length - SIGNATURE_BYTES
  return Buffer.concat([
    Buffer.of(ACK_TAG),
    bytes.subarray(1, split),
    uint256Bytes(cumulativeAmount),
    bytes.subarray(split),
  ]).toString('base64url')
}
