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

let nonce = 1n << 40n

/** Fields of an attestation a test sets itself; the rest default to an honest one. */
export type AttestWithParameters = {
  body?: string
  requestHash?: Hex
  nonce?: bigint
  expiry?: number
  maxAmount?: bigint
  assetId?: Hex
  chainId?: number | bigint
  settlementContract?: Address
}

/**
 * An `rma-attestation` header with any field chosen by the test (a spend cap, an expiry, a
 * nonce to replay), signed by `user` for the test app's domain unless told otherwise.
 *
 * @example
 * const header = await attestWith(user, { body, maxAmount: 0n })
 */
export async function attestWith(user: Wallet, parameters: AttestWithParameters): Promise<string> {
  const attestation = await signAttestation({
    signer: user,
    domain: createDomain({
      chainId: parameters.chainId ?? chainId,
      verifyingContract: parameters.settlementContract ?? settlementContract,
    }),
    attestation: {
      assetId: parameters.assetId ?? assetId,
      user: user.address as Address,
      requestHash: parameters.requestHash ?? hashBytes(parameters.body ?? ''),
      nonce: parameters.nonce ?? ++nonce,
      expiry: parameters.expiry ?? Math.floor(Date.now() / 1000) + 60,
      maxAmount: parameters.maxAmount ?? 10n ** 12n,
    },
  })
  return encodeAttestation(attestation)
}
