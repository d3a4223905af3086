import { defineConfig, type Options } from 'tsup'
import base from '../../tsup.base.ts'

const shared = base as Options

// A second entry: `@rma/core/testing`, the Anthropic response fixtures that this package's
// usage tests and the fake Anthropic upstream of `@rma/express/testing` share.
export default defineConfig({
  ...shared,
  entry: ['src/index.ts', 'src/testing/index.ts'],
  dts: { ...(shared.dts as object), entry: ['src/index.ts', 'src/testing/index.ts'] },
  // `createRequire(import.meta.url)` loads the optional native secp256k1 binding: the CJS
  // build needs tsup's `import.meta.url` shim.
  shims: true,
})
