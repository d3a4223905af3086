import { defineConfig, type Options } from 'tsup'
import base from '../../tsup.base.ts'

const shared = base as Options

// A second entry: `@rma/express/testing`, the fake upstream and test app used by this
// package's tests, the end-to-end tests and the benchmarks. A third: the thread that hashes and
// parses large request bodies, built next to index.js / index.cjs.
export default defineConfig({
  ...shared,
  entry: ['src/index.ts', 'src/bodyWorker.ts', 'src/testing/index.ts'],
  // import.meta.url in the CommonJS build, to find that file.
  shims: true,
  dts: { ...(shared.dts as object), entry: ['src/index.ts', 'src/testing/index.ts'] },
})
