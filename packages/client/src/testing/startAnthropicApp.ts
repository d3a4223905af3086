import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PriceTable, ReceiptStore } from '@rma/core'
import {
  createFakeAnthropicUpstream,
  createMeteredApp,
  type FakeAnthropicUpstream,
  fakeAnthropicBilled,
  fakeAnthropicPrices,
  type MeteredApp,
} from '@rma/express/testing'
import { createSqliteStore } from '@rma/store'

/** Claude Sonnet 4.5 list prices (the fake upstream's model), and what the fake bills in the receipt's OpenAI semantics: `@rma/express/testing`'s. */
export { fakeAnthropicBilled as anthropicBilled, fakeAnthropicPrices as anthropicPrices }

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
    meter: { prices: options.prices ?? fakeAnthropicPrices },
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
