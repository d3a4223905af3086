import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Property tests, real servers and signatures on a shared 2-core machine: a test that is
    // slow under load must not fail for it (speed is measured in bench/, never asserted here).
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
