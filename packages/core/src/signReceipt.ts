import type { Signer } from 'ethers'
import { hashReceipt } from './hashReceipt.js'
import { createTypedSigner } from './internal/signTyped.js'
import { usageReceiptSchema } from './typedData.js'
import type { RmaDomain, SignedUsageReceipt, UsageReceipt } from './types.js'

export type SignReceiptParameters = {
  receipt: UsageReceipt
  /** The meter's key: any ethers v6 Signer whose address is `receipt.meter`. */
  signer: Signer
  domain: RmaDomain
}
export type SignReceiptReturnType = SignedUsageReceipt

const sign = createTypedSigner(usageReceiptSchema, hashReceipt, 'meter')

/**
 * Signs a usage receipt as its meter. Throws {@link SignerMismatchError} when the signer is not
 * `receipt.meter`, {@link InvalidFieldError} on a malformed field.
 *
 * @example
 * const signed = await signReceipt({ receipt, signer: meterWallet, domain })
 */
export function signReceipt(parameters: SignReceiptParameters): Promise<SignReceiptReturnType> {
  return sign(parameters.receipt, parameters.signer, parameters.domain)
}
