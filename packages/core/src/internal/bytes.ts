import type { Hex } from '../types.js'

const nibbles = new Int8Array(128).fill(-1)
for (let i = 0; i < 10; i++) nibbles[48 + i] = i
for (let i = 0; i < 6; i++) {
  nibbles[65 + i] = 10 + i
  nibbles[97 + i] = 10 + i
}

/**
 * Writes the `size` bytes of a 0x-prefixed hex string into `target` at `offset`.
 * Returns false (writing nothing useful) when the string is not exactly that many hex bytes.
 */
export function writeHex(target: Uint8Array, offset: number, hex: unknown, size: number): boolean {
  if (typeof hex !== 'string' || hex.length !== 2 + size * 2 || hex[0] !== '0' || hex[1] !== 'x')
    return false
  for (let i = 0, j = 2; i < size; i++, j += 2) {
    const hi = nibbles[hex.charCodeAt(j)] ?? -1
    const lo = nibbles[hex.charCodeAt(j + 1)] ?? -1
    if (hi < 0 || lo < 0) return false
    target[offset + i] = (hi << 4) | lo
  }
  return true
}

/** Lowercase 0x-prefixed hex of `bytes[start, end)`. */
export function toHex(bytes: Uint8Array, start = 0, end = bytes.length): Hex {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('hex')}`
}

/** Writes a non-negative safe integer as a big-endian uint of `size` (<= 8) bytes. */
export function writeUint(target: Uint8Array, offset: number, value: number, size: number): void {
  let low = value % 0x100000000
  let high = (value - low) / 0x100000000
  for (let i = size - 1; i >= 0; i--) {
    if (size - 1 - i < 4) {
      target[offset + i] = low & 0xff
      low >>>= 8
    } else {
      target[offset + i] = high & 0xff
      high >>>= 8
    }
  }
}

/** Reads a big-endian uint of `size` (<= 8) bytes; may exceed 2^53 (the caller checks). */
export function readUint(source: Uint8Array, offset: number, size: number): number {
  let value = 0
  for (let i = 0; i < size; i++) value = value * 256 + (source[offset + i] as number)
  return value
}

export const MAX_UINT256 = (1n << 256n) - 1n
export const zeroHash: Hex = `0x${'0'.repeat(64)}`
