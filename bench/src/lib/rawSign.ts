import { createRequire } from 'node:module'
import { secp256k1 } from '@noble/curves/secp256k1'
import { signatureBackend } from '@rma/core'
import { packageVersion } from './packageVersion.js'

export type RawSign = {
  /** Signs a precomputed 32-byte digest: the floor no receipt signer can beat. */
  sign: (digest: Uint8Array, privateKey: Uint8Array) => void
  /** r ‖ s as hex, to check a side signs exactly what the raw operation signs. */
  compactHex: (digest: Uint8Array, privateKey: Uint8Array) => string
  label: string
}

type NativeSign = (digest: Uint8Array, key: Uint8Array) => { signature: Uint8Array }

/**
 * The raw secp256k1 sign of the backend @rma/core signs with (`signatureBackend()`):
 * libsecp256k1's `ecdsaSign` through the same `secp256k1` build @rma/core loads, else
 * @noble/curves. Baselines then compare a receipt signer with the curve code under it.
 */
export function rawSign(): RawSign {
  if (signatureBackend() === 'native') {
    const coreRequire = createRequire(import.meta.resolve('@rma/core'))
    const path = coreRequire.resolve('secp256k1/bindings.js')
    const { ecdsaSign } = coreRequire(path) as { ecdsaSign: NativeSign }
    return {
      sign: (digest, key) => {
        ecdsaSign(digest, key)
      },
      compactHex: (digest, key) => Buffer.from(ecdsaSign(digest, key).signature).toString('hex'),
      label: `libsecp256k1 ecdsaSign (secp256k1 ${packageVersion('secp256k1', path)}, N-API) of precomputed digests`,
    }
  }
  const version = packageVersion('@noble/curves', import.meta.resolve('@noble/curves/secp256k1'))
  return {
    sign: (digest, key) => {
      secp256k1.sign(digest, key)
    },
    compactHex: (digest, key) => secp256k1.sign(digest, key).toCompactHex(),
    label: `@noble/curves ${version} secp256k1.sign of precomputed digests`,
  }
}
