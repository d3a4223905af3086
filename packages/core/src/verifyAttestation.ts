import { hashAttestation } from './hashAttestation.js'
import { isSignedBy } from './internal/signTyped.js'
import type { RmaDomain, SignedRequestAttestation } from './types.js'

/**
 * Whether an attestation is signed by the user it names. Expiry, nonce replay and the request
 * body hash are checked by the meter, which knows the clock, the cache and the body.
 *
 * @example
 * verifyAttestation({ attestation, domain }) // true
 */
export function verifyAttestation(parameters: {
  attestation: SignedRequestAttestation
  domain: RmaDomain
}): boolean {
  const { attestation, domain } = parameters
  return isSignedBy(hashAttestation(attestation, domain), attestation.signature, attestation.user)
}
