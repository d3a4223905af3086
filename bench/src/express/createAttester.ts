import { type Address, createDomain, encodeAttestation, signAttestation } from '@rma/core'
import { assetId, chainId, settlementContract } from '@rma/express/testing'
import { keccak256, toUtf8Bytes, type Wallet } from 'ethers'

/**
 * Signs `count` fresh attestations over `body`, round-robin over `users`, as @rma/client does:
 * the `rma-attestation` header values of `count` metered requests, each used once.
 */
export function createAttester(users: Wallet[]) {
  const domain = createDomain({ chainId, verifyingContract: settlementContract })
  let nonce = 0n
  let turn = 0
  return async (count: number, body: string) => {
    const requestHash = keccak256(toUtf8Bytes(body)) as `0x${string}`
    // Within the meter's maxAttestationTtl (600 s): valid for the whole scenario.
    const expiry = Math.floor(Date.now() / 1000) + 300
    const values: string[] = []
    for (let i = 0; i < count; i++) {
      const signer = users[turn++ % users.length]!
      const attestation = await signAttestation({
        signer,
        domain,
        attestation: {
          assetId,
          user: signer.address as Address,
          requestHash,
          nonce: ++nonce,
          expiry,
          maxAmount: 10n ** 12n,
        },
      })
      values.push(encodeAttestation(attestation))
    }
    return { name: 'rma-attestation', values }
  }
}
