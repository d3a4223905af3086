import { defineConfig, type Options } from 'tsup'
import base from '../../tsup.base.ts'

const shared = base as Options

export default defineConfig({
  ...shared,
  // The SQLite writer thread runs from its own file, built next to index.js / index.cjs;
  // `@rma/store/testing` (a TCP proxy for network-failure tests) is a third entry.
  entry: ['src/index.ts', 'src/sqliteWriter.ts', 'src/testing/index.ts'],
  // import.meta.url in the CommonJS build, to find that file.
  shims: true,
  dts: { ...(shared.dts as object), entry: ['src/index.ts', 'src/testing/index.ts'] },
})
