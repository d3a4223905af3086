/** Which code signs with local keys and recovers signers: libsecp256k1, or ethers (pure JS). */
export type SignatureBackend = 'native' | 'js'

/** The calls of `secp256k1` (v5) used here, as its native build exposes them. */
export type NativeSecp256k1 = Pick<typeof import('secp256k1'), 'ecdsaRecover' | 'ecdsaSign'>

/** Not loaded yet: undefined; unavailable or disabled: null. */
let native: NativeSecp256k1 | null | undefined

/**
 * Loads the native binding once. `secp256k1/bindings.js` is the package's native build alone:
 * its main entry would fall back to `elliptic` (pure JS, slower than ethers), which must not
 * happen here. No Node (a browser bundle), no binary for the platform, the optional dependency
 * not installed, or `RMA_SECP256K1=js` in the environment: ethers signs and recovers instead.
 */
function load(): NativeSecp256k1 | null {
  if (typeof process === 'undefined' || process.env?.RMA_SECP256K1 === 'js') return null
  try {
    const { createRequire } = process.getBuiltinModule('node:module')
    const require = createRequire(import.meta.url)
    const binding = require('secp256k1/bindings.js') as Partial<NativeSecp256k1>
    return typeof binding.ecdsaRecover === 'function' && typeof binding.ecdsaSign === 'function'
      ? (binding as NativeSecp256k1)
      : null
  } catch {
    return null
  }
}

/** The native binding, loaded on the first call; null where ethers must do the work. */
export function nativeSecp256k1(): NativeSecp256k1 | null {
  if (native === undefined) native = load()
  return native
}

/** The backend in use; loads the native binding on the first call. */
export function currentSignatureBackend(): SignatureBackend {
  return nativeSecp256k1() ? 'native' : 'js'
}

/**
 * Forgets the loaded backend, so the next signature reads `RMA_SECP256K1` and loads the binding
 * again. For tests only.
 */
export function reloadSignatureBackend(): void {
  native = undefined
}
