import { defineConfig } from 'tsup'
import base from '../../tsup.base.ts'

// A second entry: `@rma/contracts/testing`, the anvil harness used by this package's tests,
// the end-to-end tests and the benchmarks. `shims` gives the CJS build an `import.meta.url`,
// which the harness needs to locate the anvil binary.
export default defineConfig({
  ...base,
  entry: ['src/index.ts', 'src/testing/index.ts'],
  shims: true,
})
