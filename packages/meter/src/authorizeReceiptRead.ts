import { type Address, hashBytes } from '@rma/core'
import { authenticate } from './authenticate.js'
import { MeterError } from './errors.js'
import type { HeaderSource } from './HeaderSource.js'
import type { MeterConfig } from './resolveMeterConfig.js'

/**
 * The `requestHash` a user signs, in an attestation with `maxAmount: 0`, to list its own
 * receipts (`GET /rma/receipts?user=`). It is not the hash of any JSON body, so the
 * attestation can never pass as a paid call, and a zero cap could not pay for one anyway.
 *
 * @example
 * const attestation = await signAttestation({ signer, domain, attestation: { assetId, user, requestHash: receiptListRequestHash, nonce, expiry: now + 30, maxAmount: 0n } })
 */
export const receiptListRequestHash = hashBytes('GET /rma/receipts')

/**
 * Longest lifetime of a read attestation, in seconds: a captured one is soon useless.
 *
 * @example
 * const expiry = Math.floor(Date.now() / 1000) + maxReadAttestationTtl / 2
 */
export const maxReadAttestationTtl = 60

export type AuthorizeReceiptReadParameters = {
  /** The request's headers (an Express `req`, a web `Headers`). */
  req: HeaderSource
  /** What the meter's `identify` is called with (default `req`): the adapter's own request. */
  request?: unknown
  config: MeterConfig
  /** The user whose receipts are asked for. */
  user: Address
  /** The operator's bearer token, if the router has one. */
  operatorToken: string | undefined
}

/**
 * Who may list a user's receipts: the operator (`Authorization: Bearer <operatorToken>`), the
 * user itself by an `rma-attestation` it signed over {@link receiptListRequestHash} with
 * `maxAmount: 0` and at most {@link maxReadAttestationTtl} seconds of validity, or, in
 * custodial mode, a request the meter's `identify(req)` maps to that user. Anyone else gets
 * 401/403 in OpenAI's error shape.
 *
 * @example
 * await authorizeReceiptRead({ req, config: meter.config, user, operatorToken })
 */
export async function authorizeReceiptRead(
  parameters: AuthorizeReceiptReadParameters,
): Promise<void> {
  const { req, config, user, operatorToken } = parameters
  if (operatorToken !== undefined && isOperator(req, operatorToken)) return
  if ((req.get('rma-attestation') ?? undefined) === undefined && !config.identify)
    throw new MeterError({
      status: 401,
      type: 'authentication_error',
      code: 'rma_read_unauthenticated',
      message:
        'Listing receipts needs an rma-attestation signed by the user, or the operator token.',
      details: `Sign an attestation with requestHash ${receiptListRequestHash}, maxAmount 0 and an expiry within ${maxReadAttestationTtl}s.`,
    })
  const reader = await authenticate({
    req,
    request: parameters.request,
    assetId: config.assetId,
    domain: config.domain,
    identify: config.identify,
    now: config.now(),
    maxAttestationTtl: maxReadAttestationTtl,
    clockSkew: config.clockSkew,
  })
  if (
    reader.attestation &&
    (reader.attestation.requestHash !== receiptListRequestHash ||
      reader.attestation.maxAmount !== 0n)
  )
    throw new MeterError({
      status: 401,
      type: 'authentication_error',
      code: 'rma_read_unauthenticated',
      message: `A read attestation signs requestHash ${receiptListRequestHash} with maxAmount 0.`,
    })
  if (reader.user.toLowerCase() !== user.toLowerCase())
    throw new MeterError({
      status: 403,
      type: 'permission_error',
      code: 'rma_read_forbidden',
      message: 'A user may list only its own receipts.',
    })
}

/**
 * Whether the request carries the operator's bearer token; compares in constant time, so the
 * token cannot be guessed byte by byte.
 *
 * @example
 * if (isOperator(req, operatorToken)) listAnyUser()
 */
export function isOperator(req: HeaderSource, token: string): boolean {
  const header = req.get('authorization') ?? ''
  const expected = `Bearer ${token}`
  if (header.length !== expected.length) return false
  let diff = 0
  for (let i = 0; i < header.length; i++) diff |= header.charCodeAt(i) ^ expected.charCodeAt(i)
  return diff === 0
}
