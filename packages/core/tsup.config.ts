import { defineConfig, type Options } from 'tsup'
import base from '../../tsup.base.ts'

export default defineConfig({
  ...(base as Options),
  // `createRequire(import.meta.url)` loads the optional native secp256k1 binding: the CJS
  // build needs tsup's `import.meta.url` shim.
  shims: true,
})
