import { InvalidEncodingError } from '@rma/core'

// Receipts and acks stored before schema v4 (SQLite) / v3 (PostgreSQL) have the layout without
// `cumulativeAmount` (tags 1 and 3). The migration rewrites them to the current layout (tags 4
// and 5) with the running total inserted, so every stored row decodes. Their signatures were made
// over the old layout and stay as they were: such a receipt keeps its stored hash (its id, prev
// link and tree leaf) but no longer verifies against the current schema. Settle before upgrading.

const LEGACY_RECEIPT_TAG = 1
const RECEIPT_TAG = 4
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
  return new InvalidEncodingError(`Stored ${what} has neither the current nor the v3 layout.`)
}

/**
 * Rewrites a receipt stored in the layout without `cumulativeAmount` into the current one,
 * given the chain's running total before it. Returns its amount and the new encoding; a
 * receipt already in the current layout comes back unchanged (with its own amounts).
 */
export function upgradeLegacyReceipt(
  encoded: string,
  previousCumulative: bigint,
): { encoded: string; amount: bigint; cumulativeAmount: bigint } {
  const bytes = Buffer.from(encoded, 'base64url')
  const current = bytes[0] === RECEIPT_TAG
  if (!current && bytes[0] !== LEGACY_RECEIPT_TAG) throw legacyError('receipt')
  let offset = MODEL_OFFSET
  if (bytes.length < offset + 2) throw legacyError('receipt')
  offset += 2 + bytes.readUInt16BE(offset) // model
  offset += 4 * 8 + 1 // token counts, usageSource
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
  if (current) return { encoded, amount, cumulativeAmount: readUint256() }
  if (bytes.length !== offset + 8 + SIGNATURE_BYTES) throw legacyError('receipt')
  const cumulativeAmount = previousCumulative + amount
  const upgraded = Buffer.concat([
    Buffer.of(RECEIPT_TAG),
    bytes.subarray(1, offset),
    uint256Bytes(cumulativeAmount),
    bytes.subarray(offset),
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
