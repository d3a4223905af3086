import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPriceTable, type PriceTable, type ReceiptStore } from '@rma/core'
import {
  createFakeAnthropicUpstream,
  createMeteredApp,
  type FakeAnthropicUpstream,
  fakeAnthropicUsage,
  type MeteredApp,
} from '@rma/express/testing'
import { createSqliteStore } from '@rma/store'

/** Claude Sonnet 4.5 list prices in 6-decimal base units per 1M tokens (writes 1.25x, reads 0.1x). */
export const anthropicPrices = createPriceTable({
  models: {
    'claude-sonnet-4-5': {
      input: 3_000_000n,
      cachedInput: 300_000n,
      cacheWrite: 3_750_000n,
      output: 15_000_000n,
    },
  },
})

/**
 * What the fake Anthropic upstream bills every call with, in the receipt's OpenAI semantics:
 * Anthropic's `input_tokens` counts only the uncached input, so the receipt's `inputTokens` adds
 * the cache reads and writes back, and carries them as its `cachedInputTokens` and
 * `cacheWriteTokens` subsets.
 */
export const anthropicBilled = {
  inputTokens:
    fakeAnthropicUsage.input_tokens +
    fakeAnthropicUsage.cache_read_input_tokens +
    fakeAnthropicUsage.cache_creation_input_tokens,
  cachedInputTokens: fakeAnthropicUsage.cache_read_input_tokens,
  cacheWriteTokens: fakeAnthropicUsage.cache_creation_input_tokens,
  outputTokens: fakeAnthropicUsage.output_tokens,
  reasoningTokens: 0,
}

/** A Messages request with a cache breakpoint on its system prompt, as the tests send it. */
export const anthropicRequest = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  system: [
    { type: 'text' as const, text: 'Be brief.', cache_control: { type: 'ephemeral' as const } },
  ],
  messages: [{ role: 'user' as const, content: 'What is the weather in Paris?' }],
}

/** A SQLite receipt store in a fresh temporary directory, and how to remove it. */
export function createTempSqliteStore(): { store: ReceiptStore; remove(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'rma-client-'))
  const store = createSqliteStore({ path: join(dir, 'receipts.db') })
  return {
    store,
    async remove() {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A metered app in front of the fake Anthropic API, with a real SQLite store. */
export type AnthropicApp = MeteredApp & { anthropic: FakeAnthropicUpstream }

/**
 * A real Express server on 127.0.0.1 (rmaMeter + rmaRouter + openaiProxy, receipts in a SQLite
 * file) in front of the fake Anthropic Messages API; `prices` is the meter's table (default
 * {@link anthropicPrices}).
 *
 * @example
 * const app = await startAnthropicApp()
 * const claude = withRMA(new Anthropic({ baseURL: app.url, apiKey: 'unused' }), clientOptions(app, user, { prices: anthropicPrices }))
 */
export async function startAnthropicApp(
  options: { prices?: PriceTable; meterKey?: string } = {},
): Promise<AnthropicApp> {
  const anthropic = await createFakeAnthropicUpstream()
  const sqlite = createTempSqliteStore()
  const app = await createMeteredApp({
    store: sqlite.store,
    meterKey: options.meterKey,
    meter: { prices: options.prices ?? anthropicPrices },
    proxy: { upstream: `${anthropic.url}/v1` },
  })
  return {
    ...app,
    anthropic,
    async close() {
      await app.close()
      await anthropic.close()
      await sqlite.remove()
    },
  }
}
