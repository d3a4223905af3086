import { createKeccakStream, type KeccakStream, keccakHex } from './internal/keccak.js'
import type { Hex } from './types.js'

/**
 * keccak256 of raw bytes (a string: of its UTF-8 bytes), as 0x-hex: the `requestHash` of a
 * request body, the `responseHash` of a response, the `batchHash` of a batch file. Uses the
 * same WebAssembly hasher as `hashReceipt` (see `hashBackend`).
 *
 * @example
 * const requestHash = hashBytes(rawBody)
 */
export function hashBytes(bytes: Uint8Array | string): Hex {
  return keccakHex(bytes)
}

/** An incremental {@link hashBytes}. */
export type BytesHasher = KeccakStream

/**
 * An incremental {@link hashBytes}, for bodies that arrive in pieces (streams). Any number may
 * be fed at once, interleaved.
 *
 * @example
 * const hasher = createBytesHasher()
 * for await (const chunk of body) hasher.update(chunk)
 * const responseHash = hasher.hex()
 */
export function createBytesHasher(): BytesHasher {
  return createKeccakStream()
}
