import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Address,
  createDomain,
  type PriceTable,
  type ReceiptStore,
  type RmaDomain,
} from '@rma/core'
import {
  assetId,
  chainId,
  createFakeAnthropicUpstream,
  createFakeUpstream,
  type FakeAnthropicUpstream,
  type FakeUpstream,
  fakeAnthropicPrices,
  prices,
  settlementContract,
} from '@rma/meter/testing'
import { createSqliteStore } from '@rma/store'
import { Wallet } from 'ethers'
import type { ConformanceAdapter, ConformanceServer } from './ConformanceAdapter.js'

/** Everything a conformance case runs against, for one adapter. */
export type ConformanceContext = {
  adapter: ConformanceAdapter
  /** The adapter's server in front of the fake OpenAI upstream, on a real SQLite store. */
  openai: StartedServer & { store: ReceiptStore; upstream: FakeUpstream }
  /** The adapter's server in front of the fake Anthropic upstream, on its own SQLite store. */
  anthropic: StartedServer & { store: ReceiptStore; upstream: FakeAnthropicUpstream }
  domain: RmaDomain
  /** A new SQLite store in this run's directory (closed with the context). */
  sqliteStore(): ReceiptStore
  /** Another server of the adapter in front of the fake OpenAI upstream, e.g. on a store that fails. */
  start(options: { store: ReceiptStore }): Promise<StartedServer>
  close(): Promise<void>
}

/**
 * A started server, the address of its meter key (what clients trust receipts from) and its
 * price table (the fake upstream's models: `prices` or `fakeAnthropicPrices` of
 * `@rma/meter/testing`).
 */
export type StartedServer = ConformanceServer & { meter: Address; prices: PriceTable }

/**
 * Starts the fake upstreams and two servers of `adapter` (one per upstream), each with a real
 * SQLite store in a temporary directory and the meter options of `@rma/meter/testing`.
 *
 * @example
 * const context = await startConformance(express5)
 */
export async function startConformance(adapter: ConformanceAdapter): Promise<ConformanceContext> {
  const directory = mkdtempSync(join(tmpdir(), `rma-conformance-${adapter.name}-`))
  const stores: ReceiptStore[] = []
  const servers: ConformanceServer[] = []
  const sqliteStore = () => {
    const store = createSqliteStore({ path: join(directory, `receipts-${stores.length}.db`) })
    stores.push(store)
    return store
  }
  const serve = async (store: ReceiptStore, upstream: string, table = prices) => {
    const signer = Wallet.createRandom()
    const server = await adapter.start({
      meter: {
        assetId,
        chainId,
        settlementContract,
        prices: table,
        store,
        signer: signer.privateKey,
      },
      proxy: { upstream: `${upstream}/v1`, apiKey: 'sk-upstream' },
    })
    servers.push(server)
    return { ...server, meter: signer.address as Address, prices: table }
  }
  const upstream = await createFakeUpstream({ chunks: 8 })
  const anthropicUpstream = await createFakeAnthropicUpstream()
  const openaiStore = sqliteStore()
  const anthropicStore = sqliteStore()
  return {
    adapter,
    openai: {
      ...(await serve(openaiStore, upstream.url)),
      store: openaiStore,
      upstream,
    },
    anthropic: {
      ...(await serve(anthropicStore, anthropicUpstream.url, fakeAnthropicPrices)),
      store: anthropicStore,
      upstream: anthropicUpstream,
    },
    domain: createDomain({ chainId, verifyingContract: settlementContract }),
    sqliteStore,
    start: ({ store }) => serve(store, upstream.url),
    async close() {
      for (const server of servers.splice(0).reverse()) await server.close()
      for (const store of stores.splice(0)) await store.close()
      await upstream.close()
      await anthropicUpstream.close()
      rmSync(directory, { recursive: true, force: true })
    },
  }
}
