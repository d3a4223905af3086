import { createTypedDataHasher } from './internal/typedDataHash.js'
import { receiptAckSchema } from './typedData.js'
import type { Hex, ReceiptAck, RmaDomain } from './types.js'

const hash = createTypedDataHasher(receiptAckSchema)

/**
 * The EIP-712 hash of a receipt acknowledgement.
 *
 * @example
 * const digest = hashAck(ack, domain)
 */
export function hashAck(ack: ReceiptAck, domain: RmaDomain): Hex {
  return hash(domain, ack)
}
