import { hashReceipt } from './hashReceipt.js'
import { isSignedBy } from './internal/signTyped.js'
import type { RmaDomain, SignedUsageReceipt } from './types.js'

export type VerifyReceiptParameters = { receipt: SignedUsageReceipt; domain: RmaDomain }

/**
 * Whether a receipt is signed by the meter it names. Whether that meter is trusted for the
 * asset is the caller's decision (see {@link verifyReceiptChain}).
 *
 * @example
 * if (!verifyReceipt({ receipt, domain })) throw new Error('forged receipt')
 */
export function verifyReceipt(parameters: VerifyReceiptParameters): boolean {
  const { receipt, domain } = parameters
  return isSignedBy(hashReceipt(receipt, domain), receipt.signature, receipt.meter)
}
