import {
  type Address,
  BaseError,
  decodeAttestation,
  type Hex,
  type RmaDomain,
  verifyAttestation,
} from '@rma/core'
import type { Request } from 'express'
import type { NonceCache } from './createNonceCache.js'
import { MeterError } from './errors.js'

export type Identify = (req: Request) => Address | undefined | Promise<Address | undefined>

export type AuthenticateParameters = {
  req: Request
  requestHash: Hex
  assetId: Hex
  domain: RmaDomain
  nonceCache: NonceCache
  identify: Identify | undefined
  now: number
  maxAttestationTtl: number
  clockSkew: number
}

/**
 * Who pays for this call. With an `rma-attestation` header: its signature, asset, expiry,
 * body hash and nonce must all hold (in that order, cheapest first; the nonce is claimed last
 * so a rejected request does not burn it). Without one: the custodial `identify(req)`.
 *
 * @example
 * const { user, maxAmount } = await authenticate({ req, requestHash, assetId, domain, nonceCache, identify, now, maxAttestationTtl: 600, clockSkew: 30 })
 */
export async function authenticate(
  parameters: AuthenticateParameters,
): Promise<{ user: Address; maxAmount: bigint | undefined }> {
  const { req, requestHash, assetId, domain, nonceCache, identify, now } = parameters
  const header = req.get('rma-attestation')
  if (header === undefined) {
    const user = identify ? await identify(req) : undefined
    if (user) return { user, maxAmount: undefined }
    throw fail(
      401,
      'authentication_error',
      'rma_attestation_missing',
      'Missing rma-attestation header.',
      identify ? 'The request was not identified either.' : undefined,
    )
  }
  let attestation: ReturnType<typeof decodeAttestation>
  try {
    attestation = decodeAttestation(header)
  } catch (error) {
    throw fail(
      400,
      'invalid_request_error',
      'rma_attestation_malformed',
      'Malformed rma-attestation header.',
      error instanceof BaseError ? error.shortMessage : undefined,
    )
  }
  if (!verifyAttestation({ attestation, domain }))
    throw fail(
      401,
      'authentication_error',
      'rma_attestation_invalid',
      'The rma-attestation signature does not match its user.',
    )
  if (attestation.assetId !== assetId.toLowerCase())
    throw fail(
      401,
      'authentication_error',
      'rma_attestation_wrong_asset',
      'The attestation is for another asset.',
    )
  if (attestation.expiry + parameters.clockSkew < now)
    throw fail(
      401,
      'authentication_error',
      'rma_attestation_expired',
      'The attestation has expired.',
    )
  if (attestation.expiry > now + parameters.maxAttestationTtl + parameters.clockSkew)
    throw fail(
      400,
      'invalid_request_error',
      'rma_attestation_ttl',
      `The attestation expires more than ${parameters.maxAttestationTtl}s ahead.`,
    )
  if (attestation.requestHash !== requestHash)
    throw fail(
      400,
      'invalid_request_error',
      'rma_request_hash_mismatch',
      'The attestation does not match the request body.',
      'Sign keccak256 of the exact body bytes sent.',
    )
  if (!(await nonceCache.claim(attestation.user, attestation.nonce, attestation.expiry)))
    throw fail(
      401,
      'authentication_error',
      'rma_attestation_replayed',
      'The attestation nonce was already used.',
    )
  return { user: attestation.user, maxAmount: attestation.maxAmount }
}

function fail(
  status: number,
  type: 'authentication_error' | 'invalid_request_error',
  code: string,
  message: string,
  details?: string,
): MeterError {
  return new MeterError({ status, type, code, message, details })
}
