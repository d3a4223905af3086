import {
  type Address,
  createDomain,
  type Hex,
  type PriceTable,
  type ReceiptStore,
  type RmaDomain,
} from '@rma/core'
import type { Signer } from 'ethers'
import type { Identify } from './authenticate.js'
import { createNonceCache, type NonceCache } from './createNonceCache.js'
import { MeterError } from './errors.js'
import { loadMeterSigner, type MeterKeySource } from './loadMeterSigner.js'
import { type Endpoint, endpointOf } from './usage/endpointOf.js'

/** A logger in the shape of pino, winston or console; the meter never logs key material. */
export type MeterLogger = {
  debug?(message: string, data?: object): void
  warn?(message: string, data?: object): void
  error?(message: string, data?: object): void
}

export type RmaMeterOptions = MeterKeySource & {
  /** The model asset this app's calls pay into. */
  assetId: Hex
  /** Chain and settlement contract: the EIP-712 domain of every receipt. */
  chainId: number | bigint
  settlementContract: Address
  /** Prices per model (`createPriceTable` from @rma/core). */
  prices: PriceTable
  /** Where receipts go before they are delivered (`@rma/store`). */
  store: ReceiptStore
  /** Custodial mode: map an API key or session to a user address when no attestation is sent. */
  identify?: Identify
  /** Which requests are metered, and as which endpoint. Default: the four OpenAI paths. */
  route?: (path: string, method: string) => Endpoint | undefined
  /**
   * A model missing from the price table: `'reject'` answers 400 before anything is forwarded
   * (default); `'free'` meters the call with amount 0.
   */
  unknownModel?: 'reject' | 'free'
  nonceCache?: NonceCache
  /** Longest attestation lifetime accepted, in seconds (default 600). Bounds the nonce cache. */
  maxAttestationTtl?: number
  /** Clock difference tolerated on expiry, in seconds (default 30). */
  clockSkew?: number
  /** Largest request body read, in bytes (default 10 MiB). */
  maxBodyBytes?: number
  logger?: MeterLogger
  /** Unix seconds; injectable for tests. */
  now?: () => number
}

/** Options parsed once: every default applied, the domain built, the key loading started. */
export type MeterConfig = {
  assetId: Hex
  domain: RmaDomain
  prices: PriceTable
  store: ReceiptStore
  identify: Identify | undefined
  route: (path: string, method: string) => Endpoint | undefined
  unknownModel: 'reject' | 'free'
  nonceCache: NonceCache
  maxAttestationTtl: number
  clockSkew: number
  maxBodyBytes: number
  logger: MeterLogger
  now: () => number
  /** The meter key, loaded once (first use). */
  signer: () => Promise<{ signer: Signer; address: Address }>
}

const defaultRoute = (path: string, method: string) =>
  method === 'POST' ? endpointOf(path) : undefined

/**
 * Validates options and applies defaults; throws {@link MeterError} on a bad option so a
 * misconfigured app fails at startup, not on its first paid call.
 *
 * @example
 * const config = resolveMeterConfig({ assetId, chainId: 8453, settlementContract, prices, store })
 */
export function resolveMeterConfig(options: RmaMeterOptions): MeterConfig {
  if (!/^0x[0-9a-fA-F]{64}$/.test(options.assetId ?? ''))
    throw optionError('`assetId` must be 32 bytes of 0x-hex.')
  if (!/^0x[0-9a-fA-F]{40}$/.test(options.settlementContract ?? ''))
    throw optionError('`settlementContract` must be an address.')
  if (!options.store)
    throw optionError('`store` is required (for example createSqliteStore() from @rma/store).')
  if (!options.prices?.models)
    throw optionError('`prices` must be a table from createPriceTable().')
  let loaded: Promise<{ signer: Signer; address: Address }> | undefined
  const { signer, keystore, env } = options
  return {
    assetId: options.assetId.toLowerCase() as Hex,
    domain: createDomain({
      chainId: options.chainId,
      verifyingContract: options.settlementContract,
    }),
    prices: options.prices,
    store: options.store,
    identify: options.identify,
    route: options.route ?? defaultRoute,
    unknownModel: options.unknownModel ?? 'reject',
    nonceCache: options.nonceCache ?? createNonceCache(options.now ? { now: options.now } : {}),
    maxAttestationTtl: options.maxAttestationTtl ?? 600,
    clockSkew: options.clockSkew ?? 30,
    maxBodyBytes: options.maxBodyBytes ?? 10 * 1024 * 1024,
    logger: options.logger ?? {},
    now: options.now ?? (() => Math.floor(Date.now() / 1000)),
    signer: () => {
      loaded ??= loadMeterSigner({ signer, keystore, env }).then(async (s) => ({
        signer: s,
        address: (await s.getAddress()) as Address,
      }))
      return loaded
    },
  }
}

function optionError(message: string): MeterError {
  return new MeterError({ status: 500, type: 'server_error', code: 'rma_invalid_option', message })
}
