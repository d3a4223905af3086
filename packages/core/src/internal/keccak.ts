import { createKeccak, type IHasher } from 'hash-wasm'
import { keccak256 } from 'js-sha3'

const utf8 = new TextEncoder()

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
  return keccakJs(bytes)
}

/** keccak256 of bytes (a string: of its UTF-8 bytes) as 0x-hex. */
export function keccakHex(bytes: Uint8Array | string): `0x${string}` {
  if (wasm !== null) return `0x${wasm.init().update(bytes).digest('hex')}`
  return `0x${keccak256.hex(bytes)}`
}

/** An incremental keccak256: feed bytes in pieces, read the digest once. */
export type KeccakStream = {
  update(bytes: Uint8Array | string): void
  /** The digest of everything fed so far, as 0x-hex. Call once. */
  hex(): `0x${string}`
}

/** Bytes an incremental hash holds before it moves them into its saved state. */
const pendingLimit = 64 * 1024

/**
 * An incremental keccak256 that may be fed while other hashes run. Small pieces (SSE frames)
 * are copied and hashed together when the digest is read or once 64 KiB are pending; only
 * then does the WebAssembly hasher load this stream's saved state, absorb them and save it
 * again, so concurrent streams share one instance safely and a stream of many small frames
 * pays for one state round trip, not one per frame. The backend is fixed when the stream is
 * created.
 */
export function createKeccakStream(): KeccakStream {
  const hasher = wasm
  if (hasher === null) {
    const js = keccak256.create()
    return {
      update: (bytes) => {
        js.update(bytes)
      },
      hex: () => `0x${js.hex()}`,
    }
  }
  let state: Uint8Array | undefined
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  const absorb = () => {
    if (state === undefined) hasher.init()
    else hasher.load(state)
    for (const piece of pending) hasher.update(piece)
    pending = []
    pendingBytes = 0
  }
  return {
    update: (bytes) => {
      const piece = typeof bytes === 'string' ? utf8.encode(bytes) : bytes.slice()
      pending.push(piece)
      pendingBytes += piece.length
      if (pendingBytes < pendingLimit) return
      absorb()
      state = hasher.save()
    },
    hex: () => {
      absorb()
      return `0x${hasher.digest('hex')}`
    },
  }
}

/** keccak256 with js-sha3 alone: the fallback, and the reference the tests check against. */
export function keccakJs(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(keccak256.arrayBuffer(bytes))
}
