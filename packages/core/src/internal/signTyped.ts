import type { Signer } from 'ethers'
import { SignerMismatchError } from '../errors.js'
import { type StructSchema, typedDataTypes, typedDataValue } from '../typedData.js'
import type { Address, Hex, RmaDomain, Signed } from '../types.js'
import { recoverSigner } from './recoverSigner.js'
import { type LocalSigningKey, signDigest } from './signDigest.js'

/** An ethers v6 wallet exposes its key: sign the digest directly, skipping ethers' encoder. */
type LocalSigner = Signer & { address: string; signingKey: LocalSigningKey }

function isLocal(signer: Signer): signer is LocalSigner {
  const candidate = signer as Partial<LocalSigner>
  return (
    typeof candidate.address === 'string' &&
    typeof candidate.signingKey?.sign === 'function' &&
    typeof candidate.signingKey.privateKey === 'string'
  )
}

/**
 * Compiles a signing function for one object type. A local wallet signs the fast-path digest
 * (with libsecp256k1 where it loads, see {@link signDigest});
 * any other ethers Signer (JSON-RPC, hardware, KMS) gets the full typed data, so it can show
 * the user what they sign. Both give the same signature for the same key.
 */
export function createTypedSigner<T extends object>(
  schema: StructSchema,
  hash: (value: T, domain: RmaDomain) => Hex,
  signerField: keyof T & string,
): (value: T, signer: Signer, domain: RmaDomain) => Promise<Signed<T>> {
  const types = typedDataTypes(schema)
  return async (value, signer, domain) => {
    const digest = hash(value, domain)
    const expected = value[signerField] as Address
    let signature: Hex
    if (isLocal(signer)) {
      assertSigner(expected, signer.address)
      signature = signDigest(digest, signer.signingKey)
    } else {
      assertSigner(expected, await signer.getAddress())
      signature = (await signer.signTypedData(domain, types, typedDataValue(schema, value))) as Hex
    }
    return { ...value, signature }
  }
}

function assertSigner(expected: string, actual: string): void {
  if (expected.toLowerCase() !== actual.toLowerCase())
    throw new SignerMismatchError({ expected, actual })
}

/**
 * Whether `signature` over `digest` recovers to `expected`; false for malformed signatures.
 * The same answer as ethers' `recoverAddress` for every input; libsecp256k1 does the recovery
 * where it loads (see `signatureBackend`).
 */
export function isSignedBy(digest: Hex, signature: unknown, expected: string): boolean {
  if (typeof signature !== 'string') return false
  try {
    const signer = recoverSigner(digest, signature)
    return signer !== null && signer === expected.toLowerCase()
  } catch {
    return false
  }
}
