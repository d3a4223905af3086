import type { Address, Hex } from '@rma/core'
import type { Wallet } from 'ethers'
import { attestWith } from './attestWith.js'

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
export function attest(user: Wallet, body: string, target: AttestTarget = {}): Promise<string> {
  return attestWith(user, { body, ...target })
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
