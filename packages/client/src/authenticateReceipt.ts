import {
  decodeReceipt,
  type Hex,
  hashReceipt,
  type SignedUsageReceipt,
  verifyReceipt,
} from '@rma/core'
import {
  ReceiptBindingError,
  type ReceiptErrorContext,
  ReceiptMalformedError,
  ReceiptSignatureError,
  UntrustedMeterError,
} from './errors.js'
import type { ClientConfig } from './resolveClientConfig.js'

/**
 * Decodes a receipt and checks who it is from and for: signed by the meter it names, that meter
 * trusted, for this client's asset and user. Throws the matching `ReceiptError`.
 *
 * @example
 * const { receipt, hash } = await authenticateReceipt(config, header, { receiptId })
 */
export async function authenticateReceipt(
  config: ClientConfig,
  encoded: string,
  context: ReceiptErrorContext,
): Promise<{ receipt: SignedUsageReceipt; hash: Hex }> {
  let receipt: SignedUsageReceipt
  try {
    receipt = decodeReceipt(encoded)
  } catch (cause) {
    throw new ReceiptMalformedError({ ...context, encoded, cause })
  }
  const with_ = { ...context, encoded, receipt }
  if (!verifyReceipt({ receipt, domain: config.domain })) throw new ReceiptSignatureError(with_)
  if (!(await config.trustedMeter(receipt.meter)))
    throw new UntrustedMeterError({ ...with_, meter: receipt.meter })
  if (receipt.assetId !== config.assetId)
    throw new ReceiptBindingError({
      ...with_,
      field: 'assetId',
      expected: config.assetId,
      actual: receipt.assetId,
    })
  const user = await config.user()
  if (receipt.user !== user)
    throw new ReceiptBindingError({ ...with_, field: 'user', expected: user, actual: receipt.user })
  return { receipt, hash: hashReceipt(receipt, config.domain) }
}
