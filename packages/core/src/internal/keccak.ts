import { createKeccak, type IHasher } from 'hash-wasm'
import { keccak256 } from 'js-sha3'

/**
 * keccak256 in WebAssembly (hash-wasm): about 6 times js-sha3 on the 544-byte struct encoding
 * hashed per receipt, which is most of the cost of `hashReceipt` (measured on this project's
 * machine). Its instance compiles asynchronously, starting when this module loads; until it is
 * ready, and wherever WebAssembly is unavailable, js-sha3 hashes instead. Both give the same
 * digest for every input (tested), so only speed depends on which one runs.
 */
let wasm: IHasher | null = null
export const keccakReady: Promise<void> = createKeccak(256).then(
  (hasher) => {
    wasm = hasher
  },
  () => {},
)

/** 'wasm' once the WebAssembly hasher is ready, else 'js'. */
export function keccakBackend(): 'wasm' | 'js' {
  return wasm === null ? 'js' : 'wasm'
}

/** keccak256 of bytes. */
export function keccak(bytes: Uint8Array): Uint8Array {
  if (wasm !== null) return wasm.init().update(bytes).digest('binary')
  return new Uint8Array(keccak256.arrayBuffer(bytes))
}

/** keccak256 of bytes as 0x-hex. */
export function keccakHex(bytes: Uint8Array): `0x${string}` {
  if (wasm !== null) return `0x${wasm.init().update(bytes).digest('hex')}`
  return `0x${keccak256.hex(bytes)}`
}

/** keccak256 with js-sha3 alone, to check the WebAssembly hasher against. For tests only. */
export function keccakJs(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(keccak256.arrayBuffer(bytes))
}
