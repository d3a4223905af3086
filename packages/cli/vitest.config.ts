import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // The CLI runs as a child process against anvil on a shared 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    globalSetup: ['./test/buildCli.ts'],
  },
})
