import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // anvil chains and a real browser on a shared 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
})
