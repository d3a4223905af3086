import type { Signer } from 'ethers'
import { hashAttestation } from './hashAttestation.js'
import { createTypedSigner } from './internal/signTyped.js'
import { requestAttestationSchema } from './typedData.js'
import type { RequestAttestation, RmaDomain, SignedRequestAttestation } from './types.js'

export type SignAttestationParameters = {
  attestation: RequestAttestation
  /** The API user's key: any ethers v6 Signer whose address is `attestation.user`. */
  signer: Signer
  domain: RmaDomain
}

const sign = createTypedSigner(requestAttestationSchema, hashAttestation, 'user')

/**
 * Signs a request attestation as the API user.
 *
 * @example
 * const signed = await signAttestation({ attestation, signer: userWallet, domain })
 */
export function signAttestation(
  parameters: SignAttestationParameters,
): Promise<SignedRequestAttestation> {
  return sign(parameters.attestation, parameters.signer, parameters.domain)
}
