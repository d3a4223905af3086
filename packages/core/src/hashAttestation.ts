import { createTypedDataHasher } from './internal/typedDataHash.js'
import { requestAttestationSchema } from './typedData.js'
import type { Hex, RequestAttestation, RmaDomain } from './types.js'

const hash = createTypedDataHasher(requestAttestationSchema)

/**
 * The EIP-712 hash of a request attestation.
 *
 * @example
 * const digest = hashAttestation(attestation, domain)
 */
export function hashAttestation(attestation: RequestAttestation, domain: RmaDomain): Hex {
  return hash(domain, attestation)
}
