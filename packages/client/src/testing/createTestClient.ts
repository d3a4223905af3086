import type { Address } from '@rma/core'
import {
  assetId,
  chainId,
  createMeteredApp,
  type MeteredApp,
  prices,
  settlementContract,
} from '@rma/express/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import OpenAI from 'openai'
import type { RmaClientOptions } from '../resolveClientConfig.js'
import { withRMA } from '../withRMA.js'

export { assetId, chainId, prices, settlementContract }

/** A random API user key. */
export function createUser(): Wallet {
  return Wallet.createRandom() as unknown as Wallet
}

/** The metered test server (rmaMeter + rmaRouter + openaiProxy + fake upstream), on a fixed meter key. */
export function startMeteredApp(meterKey?: string): Promise<MeteredApp> {
  return createMeteredApp({ store: createMemoryStore(), meterKey })
}

/** The options every test client shares: the test asset, domain, meter and price table. */
export function clientOptions(
  app: MeteredApp,
  user: Wallet,
  overrides: Partial<RmaClientOptions> = {},
): RmaClientOptions {
  return {
    signer: user,
    assetId,
    chainId,
    settlementContract,
    meters: [app.meterWallet.address as Address],
    maxAmountPerCall: 10n ** 9n,
    prices,
    ...overrides,
  }
}

/** The real OpenAI SDK against `url`, wrapped by withRMA. */
export function createTestClient(
  app: MeteredApp,
  user: Wallet,
  overrides: Partial<RmaClientOptions> & { url?: string } = {},
) {
  const { url, ...rest } = overrides
  const openai = new OpenAI({ baseURL: `${url ?? app.url}/v1`, apiKey: 'unused', maxRetries: 0 })
  return withRMA(openai, clientOptions(app, user, rest))
}

export const chat = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user' as const, content: 'Hi' }],
}
