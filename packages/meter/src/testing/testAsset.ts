import { type Address, createPriceTable, type Hex } from '@rma/core'

/** The asset of every test meter. */
export const assetId = `0x${'a5'.repeat(32)}` as Hex
/** The settlement contract of the test domain (no chain behind it). */
export const settlementContract = `0x${'5e'.repeat(20)}` as Address
/** Anvil's chain id. */
export const chainId = 31337
/**
 * USDC-like 6-decimal prices per 1M tokens, for the fake upstreams' models and failure modes.
 *
 * @example
 * createMeter({ assetId, chainId, settlementContract, prices, store, signer })
 */
export const prices = createPriceTable({
  models: {
    'gpt-4o-mini': { input: 150_000n, cachedInput: 75_000n, output: 600_000n, reasoning: 600_000n },
    'text-embedding-3-small': { input: 20_000n, output: 0n },
    slow: { input: 150_000n, output: 600_000n },
    'no-usage': { input: 150_000n, output: 600_000n },
    'bad-sse': { input: 150_000n, output: 600_000n },
    'bad-json': { input: 150_000n, output: 600_000n },
    'fail-429': { input: 1n, output: 1n },
    'fail-500': { input: 1n, output: 1n },
  },
})
