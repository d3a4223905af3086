import {
  type Address,
  createDomain,
  encodeAttestation,
  type Hex,
  hashBytes,
  signAttestation,
} from '@rma/core'
import type { Wallet } from 'ethers'
import { assetId, chainId, settlementContract } from './testAsset.js'

let nonce = 0n

/** Which asset and domain an attestation is for (default: this module's test constants). */
export type AttestTarget = {
  assetId?: Hex
  chainId?: number | bigint
  settlementContract?: Address
}

/**
 * The `rma-attestation` header value for `body` signed by `user`, as @rma/client makes it.
 *
 * @example
 * const header = await attest(user, JSON.stringify(body))
 */
export async function attest(
  user: Wallet,
  body: string,
  target: AttestTarget = {},
): Promise<string> {
  const attestation = await signAttestation({
    signer: user,
    domain: createDomain({
      chainId: target.chainId ?? chainId,
      verifyingContract: target.settlementContract ?? settlementContract,
    }),
    attestation: {
      assetId: target.assetId ?? assetId,
      user: user.address as Address,
      requestHash: hashBytes(body),
      nonce: ++nonce,
      expiry: Math.floor(Date.now() / 1000) + 60,
      maxAmount: 10n ** 12n,
    },
  })
  return encodeAttestation(attestation)
}

/**
 * A fetch that attests every request as `user`: signs keccak256 of the exact body bytes and
 * sends the `rma-attestation` header.
 *
 * @example
 * const client = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: 'x', fetch: attestingFetch(user) })
 */
export function attestingFetch(
  user: Wallet,
  extra: Record<string, string> = {},
  target: AttestTarget = {},
): typeof fetch {
  return async (input, init = {}) => {
    const headers = new Headers(init.headers)
    const body = typeof init.body === 'string' ? init.body : ''
    headers.set('rma-attestation', await attest(user, body, target))
    for (const [name, value] of Object.entries(extra)) headers.set(name, value)
    return fetch(input, { ...init, headers })
  }
}
