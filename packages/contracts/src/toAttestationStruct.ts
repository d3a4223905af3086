import type { Hex, RequestAttestation } from '@rma/core'

/** A request attestation as the settlement contract's `Attestation` tuple. */
export type AttestationStruct = {
  assetId: Hex
  user: string
  requestHash: Hex
  nonce: bigint
  expiry: bigint
  maxAmount: bigint
}

/**
 * Turns a @rma/core request attestation into the `Attestation` tuple of `proveOvercharge`.
 *
 * @example
 * const att = toAttestationStruct(signedAttestation)
 */
export function toAttestationStruct(attestation: RequestAttestation): AttestationStruct {
  return {
    assetId: attestation.assetId,
    user: attestation.user,
    requestHash: attestation.requestHash,
    nonce: attestation.nonce,
    expiry: BigInt(attestation.expiry),
    maxAmount: attestation.maxAmount,
  }
}
