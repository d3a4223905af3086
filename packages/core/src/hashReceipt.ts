import { createTypedDataHasher } from './internal/typedDataHash.js'
import { usageReceiptSchema } from './typedData.js'
import type { Hex, RmaDomain, UsageReceipt } from './types.js'

const hash = createTypedDataHasher(usageReceiptSchema)

/**
 * The EIP-712 hash of a usage receipt: its id, the `prev` of the next receipt in its chain and
 * its leaf in the batch's receipts tree. Equal to ethers' `TypedDataEncoder.hash` and viem's
 * `hashTypedData`, computed with precomputed type hash and domain separator and a fixed
 * encoding. Throws {@link InvalidFieldError} on a malformed field.
 *
 * @example
 * const id = hashReceipt(receipt, domain)
 */
export function hashReceipt(receipt: UsageReceipt, domain: RmaDomain): Hex {
  return hash(domain, receipt)
}
