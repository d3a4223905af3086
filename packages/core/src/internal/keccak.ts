import { keccak256 } from 'js-sha3'

/**
 * keccak256 of bytes. js-sha3 is about twice as fast as @noble/hashes on the 512-byte struct
 * encodings hashed per receipt (measured on this project's machine), which is most of the
 * cost of `hashReceipt`.
 */
export function keccak(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(keccak256.arrayBuffer(bytes))
}

/** keccak256 of bytes as 0x-hex. */
export function keccakHex(bytes: Uint8Array): `0x${string}` {
  return `0x${keccak256.hex(bytes)}`
}
