import { createPriceTable } from '@rma/core'

/**
 * The price table of every conformance server, in 6-decimal base units per 1M tokens: the
 * fake OpenAI upstream's models and Claude Sonnet 4.5 at its list prices (cache writes 1.25x,
 * cache reads 0.1x of input).
 */
export const conformancePrices = createPriceTable({
  models: {
    'gpt-4o-mini': { input: 150_000n, cachedInput: 75_000n, output: 600_000n, reasoning: 600_000n },
    'text-embedding-3-small': { input: 20_000n, output: 0n },
    slow: { input: 150_000n, output: 600_000n },
    'bad-sse': { input: 150_000n, output: 600_000n },
    'fail-429': { input: 1n, output: 1n },
    'fail-500': { input: 1n, output: 1n },
    'claude-sonnet-4-5': {
      input: 3_000_000n,
      cachedInput: 300_000n,
      cacheWrite: 3_750_000n,
      output: 15_000_000n,
    },
  },
})
