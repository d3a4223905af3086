import { recoverAddress } from 'ethers'
import { keccakHex } from './keccak.js'
import { nativeSecp256k1 } from './nativeSecp256k1.js'

/** ethers' `getBytes` accepts exactly this (`0X` too), with an even number of digits. */
const hexPattern = /^0x[0-9a-f]*$/i
const digestPattern = /^0x[0-9a-f]{64}$/i

/**
 * The address (lowercase 0x-hex) whose key made `signature` over `digest`, or null where
 * ethers' `recoverAddress` would throw. Same result as `recoverAddress(digest, signature)` for
 * every string signature; the native path parses the signature as ethers' `Signature.from`
 * does, and anything else (a digest that is not 32 bytes of hex) goes to ethers itself.
 */
export function recoverSigner(digest: string, signature: string): string | null {
  const secp = nativeSecp256k1()
  if (secp === null || typeof digest !== 'string' || !digestPattern.test(digest))
    return recoverWithEthers(digest, signature)
  const parsed = parseSignature(signature)
  if (parsed === null) return null
  let publicKey: Uint8Array
  try {
    publicKey = secp.ecdsaRecover(
      parsed.rs,
      parsed.recid,
      Buffer.from(digest.slice(2), 'hex'),
      false,
    )
  } catch {
    // r or s zero or >= n, r not an x coordinate on the curve, or the key at infinity:
    // noble (inside ethers) throws on exactly these.
    return null
  }
  return `0x${keccakHex(publicKey.subarray(1)).slice(26)}`
}

function recoverWithEthers(digest: string, signature: string): string | null {
  try {
    return recoverAddress(digest, signature).toLowerCase()
  } catch {
    return null
  }
}

/**
 * ethers v6 `Signature.from(string)`: 64 bytes are EIP-2098 compact (`yParityAndS`, top bit of
 * s is the parity); 65 bytes are `r ‖ s ‖ v` with v 0, 1, 27, 28 or an EIP-155 v >= 35 (odd:
 * parity 0), and s must have its top bit clear (ethers' `s` getter: "non-canonical s"). That is
 * the whole canonical check ethers makes: s in (n/2, 2^255) still recovers, as it does here.
 * Range checks of r and s are libsecp256k1's, which match noble's.
 */
function parseSignature(signature: string): { rs: Uint8Array; recid: number } | null {
  const length = signature.length
  if ((length !== 130 && length !== 132) || !hexPattern.test(signature)) return null
  const bytes = Buffer.from(signature.slice(2), 'hex')
  const rs = bytes.subarray(0, 64)
  if (length === 130) {
    const recid = rs[32]! >> 7
    rs[32] = rs[32]! & 0x7f
    return { rs, recid }
  }
  if (rs[32]! & 0x80) return null
  const v = bytes[64]!
  if (v === 0 || v === 27) return { rs, recid: 0 }
  if (v === 1 || v === 28) return { rs, recid: 1 }
  if (v >= 35) return { rs, recid: 1 - (v & 1) }
  return null
}
