import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ReceiptStore } from '@rma/core'
import {
  assetId,
  chainId,
  createFakeUpstream,
  type FakeUpstream,
  prices,
  settlementContract,
} from '@rma/meter/testing'
import { Wallet } from 'ethers'
import express from 'express'
import { type OpenAIProxyOptions, openaiProxy } from '../openaiProxy.js'
import { type RmaMeter, type RmaMeterOptions, rmaMeter } from '../rmaMeter.js'
import { type RmaRouterOptions, rmaRouter } from '../rmaRouter.js'

export {
  type AttestTarget,
  assetId,
  attest,
  attestingFetch,
  chainId,
  prices,
  settlementContract,
} from '@rma/meter/testing'

export type MeteredApp = {
  url: string
  meter: RmaMeter
  meterWallet: Wallet
  upstream: FakeUpstream
  store: ReceiptStore
  close(): Promise<void>
}

/**
 * A real Express server on 127.0.0.1 running rmaMeter + rmaRouter + openaiProxy in front of
 * the fake upstream: the shape of a provider app, for tests and benchmarks.
 *
 * @example
 * const app = await createMeteredApp({ store: createMemoryStore() })
 */
export async function createMeteredApp(options: {
  store: ReceiptStore
  meter?: Partial<RmaMeterOptions>
  proxy?: Partial<OpenAIProxyOptions>
  upstream?: FakeUpstream
  /** The meter's private key (default: a random one); fixed to restart a meter on its chains. */
  meterKey?: string
  /** Port on 127.0.0.1 (default: any free one). */
  port?: number
  router?: Omit<RmaRouterOptions, 'meter'>
}): Promise<MeteredApp> {
  const upstream = options.upstream ?? (await createFakeUpstream())
  const meterWallet = options.meterKey
    ? new Wallet(options.meterKey)
    : (Wallet.createRandom() as unknown as Wallet)
  const meter = rmaMeter({
    assetId,
    chainId,
    settlementContract,
    prices,
    store: options.store,
    signer: meterWallet,
    ...options.meter,
  })
  const app = express()
  app.use(meter)
  app.use(rmaRouter({ meter, ...options.router }))
  app.post(
    '/v1/*path',
    openaiProxy({ upstream: `${upstream.url}/v1`, apiKey: 'sk-upstream', ...options.proxy }),
  )
  const server: Server = app.listen(options.port ?? 0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    meter,
    meterWallet,
    upstream,
    store: options.store,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      if (!options.upstream) await upstream.close()
    },
  }
}
