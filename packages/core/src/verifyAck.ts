import { hashAck } from './hashAck.js'
import { isSignedBy } from './internal/signTyped.js'
import type { RmaDomain, SignedReceiptAck } from './types.js'

/**
 * Whether an ack is signed by the user it names.
 *
 * @example
 * verifyAck({ ack, domain }) // true
 */
export function verifyAck(parameters: { ack: SignedReceiptAck; domain: RmaDomain }): boolean {
  const { ack, domain } = parameters
  return isSignedBy(hashAck(ack, domain), ack.signature, ack.user)
}
