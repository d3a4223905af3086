import { encodeReceipt, type StoredReceipt } from '@rma/core'

/** The JSON form of a stored receipt served by `/rma/receipts`: amounts as decimal strings. */
export type ReceiptJSON = {
  id: string
  hash: string
  epoch: number | null
  /** The compact encoding, as in the `rma-receipt` header: decode and verify this. */
  encoded: string
  receipt: Record<string, string | number>
}

/**
 * Serialises a stored receipt for HTTP. The readable `receipt` fields are for people; clients
 * should decode and verify `encoded` (`decodeReceipt` + `verifyReceipt` from @rma/core).
 *
 * @example
 * res.json(receiptToJSON(stored))
 */
export function receiptToJSON(stored: StoredReceipt): ReceiptJSON {
  const receipt: Record<string, string | number> = {}
  for (const [key, value] of Object.entries(stored.receipt))
    receipt[key] = typeof value === 'bigint' ? value.toString() : (value as string | number)
  return {
    id: stored.id,
    hash: stored.hash,
    epoch: stored.epoch,
    encoded: encodeReceipt(stored.receipt),
    receipt,
  }
}
