import { decodeStruct, encodeStruct } from './internal/structCodec.js'
import { receiptAckSchema, requestAttestationSchema, usageReceiptSchema } from './typedData.js'
import type {
  ReceiptAck,
  RequestAttestation,
  SignedReceiptAck,
  SignedRequestAttestation,
  SignedUsageReceipt,
  UsageReceipt,
} from './types.js'

// Each layout change takes a new tag, so a peer on an old layout gets "Expected tag 6, found 4"
// instead of a misread field. Receipts: 1 (first layout), 4 (+ cumulativeAmount), 6 (+
// cacheWriteTokens, priceTable, attestation). Acks: 3, then 5 (+ cumulativeAmount). Stores
// rewrite the rows they hold in an old layout when they migrate (@rma/store legacyLayout.ts).
const RECEIPT_TAG = 6
const ATTESTATION_TAG = 2
const ACK_TAG = 5

/**
 * Compact base64url encoding of a signed receipt, for the `rma-receipt` header
 * (about 400 characters). Layout in `docs/protocol.md`.
 *
 * @example
 * res.setHeader('rma-receipt', encodeReceipt(signed))
 */
export function encodeReceipt(receipt: SignedUsageReceipt): string {
  return encodeStruct(usageReceiptSchema, RECEIPT_TAG, receipt)
}

/**
 * Decodes an `rma-receipt` header value. Untrusted input: anything malformed, oversized or of
 * another type throws {@link InvalidEncodingError}. Addresses and hashes come back lowercase.
 * Decoding does not verify the signature: call {@link verifyReceipt}.
 *
 * @example
 * const receipt = decodeReceipt(response.headers.get('rma-receipt'))
 */
export function decodeReceipt(input: unknown): SignedUsageReceipt {
  return decodeStruct<UsageReceipt>(usageReceiptSchema, RECEIPT_TAG, input)
}

/**
 * Encoding of a signed request attestation, for the `rma-attestation` header.
 *
 * @example
 * headers['rma-attestation'] = encodeAttestation(signed)
 */
export function encodeAttestation(attestation: SignedRequestAttestation): string {
  return encodeStruct(requestAttestationSchema, ATTESTATION_TAG, attestation)
}

/**
 * Decodes an `rma-attestation` header value (untrusted input, see {@link decodeReceipt}).
 *
 * @example
 * const attestation = decodeAttestation(req.get('rma-attestation'))
 */
export function decodeAttestation(input: unknown): SignedRequestAttestation {
  return decodeStruct<RequestAttestation>(requestAttestationSchema, ATTESTATION_TAG, input)
}

/**
 * Encoding of a signed receipt acknowledgement, for the `rma-ack` header.
 *
 * @example
 * headers['rma-ack'] = encodeAck(signedAck)
 */
export function encodeAck(ack: SignedReceiptAck): string {
  return encodeStruct(receiptAckSchema, ACK_TAG, ack)
}

/**
 * Decodes an `rma-ack` header value (untrusted input, see {@link decodeReceipt}).
 *
 * @example
 * const ack = decodeAck(req.get('rma-ack'))
 */
export function decodeAck(input: unknown): SignedReceiptAck {
  return decodeStruct<ReceiptAck>(receiptAckSchema, ACK_TAG, input)
}
