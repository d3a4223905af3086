import {
  type Address,
  BaseError,
  decodeAttestation,
  type RmaDomain,
  type SignedRequestAttestation,
  verifyAttestation,
} from '@rma/core'
import { MeterError } from './errors.js'
import type { HeaderSource } from './HeaderSource.js'

/**
 * Custodial mode: maps a request without an attestation (an API key, a session) to the user
 * who pays. It receives the adapter's own request object: the web `Request` for `meter.fetch`,
 * Express's `req` for `rmaMeter()`. Only headers are available (the body is not read yet).
 */
export type Identify<R = Request> = (
  request: R,
) => Address | undefined | Promise<Address | undefined>

export type AuthenticateParameters = {
  /** The request's headers (an Express `req`, a web `Headers`). */
  req: HeaderSource
  /** What `identify` is called with (default `req`): the adapter's own request. */
  request?: unknown
  assetId: `0x${string}`
  domain: RmaDomain
  identify: Identify<never> | undefined
  now: number
  maxAttestationTtl: number
  clockSkew: number
}

/** Who pays, as far as the headers tell: the body hash and the nonce are checked later. */
export type AuthenticateReturnType = {
  user: Address
  /** The spend cap signed by the user; undefined in custodial mode. */
  maxAmount: bigint | undefined
  /** The attestation, when the call carries one. */
  attestation: SignedRequestAttestation | undefined
}

/**
 * Who pays for this call, from its headers alone, so a request is refused before its body is
 * read. With an `rma-attestation` header: it decodes, its signature is its user's under this
 * meter's domain, it is for this asset, not expired (with the clock skew) and not valid for
 * longer than `maxAttestationTtl`. Without one: the custodial `identify(req)`, which sees the
 * headers only (the body is not read yet). The body hash and the nonce are the caller's to
 * check once the body is read and the price is known.
 *
 * @example
 * const { user, maxAmount, attestation } = await authenticate({ req, assetId, domain, identify, now, maxAttestationTtl: 600, clockSkew: 30 })
 */
export async function authenticate(
  parameters: AuthenticateParameters,
): Promise<AuthenticateReturnType> {
  const { req, assetId, domain, identify, now } = parameters
  const header = req.get('rma-attestation') ?? undefined
  if (header === undefined) {
    const user = identify
      ? await (identify as Identify<unknown>)(parameters.request ?? req)
      : undefined
    if (user) return { user, maxAmount: undefined, attestation: undefined }
    throw fail(
      401,
      'authentication_error',
      'rma_attestation_missing',
      'Missing rma-attestation header.',
      identify ? 'The request was not identified either.' : undefined,
    )
  }
  let attestation: SignedRequestAttestation
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
      // A signature over another domain recovers another address: the usual cause is a client
      // configured for another chain or contract, not a forgery.
      `Either it was signed by another key, or for another chain id or settlement contract: this meter expects chainId ${domain.chainId} and contract ${domain.verifyingContract}.`,
    )
  if (attestation.assetId !== assetId.toLowerCase())
    throw fail(
      401,
      'authentication_error',
      'rma_attestation_wrong_asset',
      'The attestation is for another asset.',
      `This meter serves asset ${assetId.toLowerCase()}.`,
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
  return { user: attestation.user, maxAmount: attestation.maxAmount, attestation }
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
