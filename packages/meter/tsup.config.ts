import { defineConfig, type Options } from 'tsup'
import base from '../../tsup.base.ts'

const shared = base as Options

// A second entry: `@rma/meter/testing`, the fake upstreams and attestation helpers used by the
// tests of this package, of every adapter and of the end-to-end tests.
export default defineConfig({
  ...shared,
  entry: ['src/index.ts', 'src/testing/index.ts'],
})
