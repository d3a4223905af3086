import { defineConfig } from 'tsup'
import base from '../../tsup.base.ts'

// A second entry: `@rma/express/testing`, the fake upstream and test app used by this
// package's tests, the end-to-end tests and the benchmarks.
export default defineConfig({ ...base, entry: ['src/index.ts', 'src/testing/index.ts'] })
