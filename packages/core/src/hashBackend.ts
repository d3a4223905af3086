import { keccakBackend, keccakReady } from './internal/keccak.js'

/** Which code computes keccak256: hash-wasm's WebAssembly build, or js-sha3 (pure JS). */
export type HashBackend = 'wasm' | 'js'

/**
 * Which code hashes in `hashReceipt` and its siblings, for diagnostics. The WebAssembly hasher
 * (about 4 times faster per receipt) compiles asynchronously from the moment @rma/core loads;
 * until then, and where WebAssembly is unavailable, js-sha3 hashes. Both give the same digest
 * for every input. A server has it within milliseconds; a script that hashes in one
 * synchronous loop right after import can wait for it with {@link readyHashBackend}.
 *
 * @example
 * if (hashBackend() !== 'wasm') console.warn('@rma/core: hashing in JS')
 */
export function hashBackend(): HashBackend {
  return keccakBackend()
}

/**
 * Resolves once the WebAssembly hasher has loaded (or failed to), with the backend used from
 * then on.
 *
 * @example
 * await readyHashBackend() // 'wasm'
 */
export async function readyHashBackend(): Promise<HashBackend> {
  await keccakReady
  return keccakBackend()
}
