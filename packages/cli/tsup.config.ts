import { defineConfig } from 'tsup'
import base from '../../tsup.base.ts'

// The library (ESM + CJS) and the `rma` binary (ESM only: it is run, never required).
export default defineConfig([
  base,
  { ...base, entry: ['src/main.ts'], format: ['esm'], dts: false, clean: false },
])
