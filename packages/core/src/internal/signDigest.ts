import type { Hex } from '../types.js'
import { nativeSecp256k1 } from './nativeSecp256k1.js'

/** The part of an ethers v6 `SigningKey` used here. */
export type LocalSigningKey = {
  readonly privateKey: string
  sign(digest: string): { serialized: string }
}

/** Private key bytes per signing key object, parsed once: a meter signs every receipt. */
const keyBytes = new WeakMap<LocalSigningKey, Buffer>()

/**
 * Signs a 32-byte digest with a local key: r ‖ s ‖ v as 0x-hex, v 27 or 28, s low. Where the
 * native binding loads (see `signatureBackend`), libsecp256k1 signs; otherwise ethers does.
 * Both use RFC 6979 nonces without extra entropy, so both give the same signature, byte for
 * byte (tested).
 */
export function signDigest(digest: Hex, signingKey: LocalSigningKey): Hex {
  const secp = nativeSecp256k1()
  if (secp === null) return signingKey.sign(digest).serialized as Hex
  let key = keyBytes.get(signingKey)
  if (key === undefined) {
    key = Buffer.from(signingKey.privateKey.slice(2), 'hex')
    keyBytes.set(signingKey, key)
  }
  const { signature, recid } = secp.ecdsaSign(Buffer.from(digest.slice(2), 'hex'), key)
  const rs = Buffer.from(signature.buffer, signature.byteOffset, 64).toString('hex')
  return `0x${rs}${recid === 0 ? '1b' : '1c'}`
}
