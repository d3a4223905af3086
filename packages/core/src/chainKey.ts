/**
 * The key of an (asset, meter, user) receipt chain, as used by `anchors` and by every party
 * that indexes chains (stores, the client's ledger, settlement). One meter key serving two
 * assets keeps two chains, each numbered from seq 1, so each asset's receipts verify gap-free
 * on their own. Case-insensitive.
 *
 * @example
 * const key = chainKey(receipt.assetId, receipt.meter, receipt.user)
 * anchors.set(key, { seq: settled.receipt.seq, hash: settled.hash })
 */
export function chainKey(assetId: string, meter: string, user: string): string {
  return `${assetId.toLowerCase()}:${meter.toLowerCase()}:${user.toLowerCase()}`
}
