import type { Signer } from 'ethers'
import { hashAck } from './hashAck.js'
import { createTypedSigner } from './internal/signTyped.js'
import { receiptAckSchema } from './typedData.js'
import type { ReceiptAck, RmaDomain, SignedReceiptAck } from './types.js'

export type SignAckParameters = {
  ack: ReceiptAck
  /** The API user's key: any ethers v6 Signer whose address is `ack.user`. */
  signer: Signer
  domain: RmaDomain
}

const sign = createTypedSigner(receiptAckSchema, hashAck, 'user')

/**
 * Countersigns a receipt as its user. Because receipts chain through `prev`, acking the head
 * of a chain acks every receipt before it.
 *
 * @example
 * const ack = await signAck({ ack: { assetId, user, meter, seq, receiptHash }, signer, domain })
 */
export function signAck(parameters: SignAckParameters): Promise<SignedReceiptAck> {
  return sign(parameters.ack, parameters.signer, parameters.domain)
}
