import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Real servers and the tokenizer on a 2-core machine shared with other work: room, not speed.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
