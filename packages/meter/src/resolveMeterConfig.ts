import {
  type Address,
  BaseError,
  createDomain,
  createPriceTableRoots,
  type Endpoint,
  type Hex,
  meteredEndpointOf,
  type PriceTable,
  type PriceTableRoots,
  type ReceiptStore,
  type RmaDomain,
} from '@rma/core'
import type { Signer } from 'ethers'
import type { Identify } from './authenticate.js'
import type { PrepaidConfig } from './createPrepaidCoverage.js'
import { MeterError } from './errors.js'
import { loadMeterSignerSync, type MeterKeySource } from './loadMeterSigner.js'

/** A logger in the shape of pino, winston or console; the meter never logs key material. */
export type MeterLogger = {
  debug?(message: string, data?: object): void
  warn?(message: string, data?: object): void
  error?(message: string, data?: object): void
}

/**
 * The options of a meter (`createMeter`, Express's `rmaMeter`). `R` is the request object the
 * adapter hands to `identify`: the web `Request` for `meter.fetch`, Express's `req` for `rmaMeter`.
 */
export type MeterOptions<R = Request> = MeterKeySource & {
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
  identify?: Identify<R>
  /**
   * Which requests are metered, and as which endpoint; `path` is the request's
   * `canonicalPath` (lower case, decoded once, dots and slashes resolved). Default:
   * `POST` to the four OpenAI paths under any prefix and Anthropic's `…/v1/messages`
   * (`meteredEndpointOf` of `@rma/core`).
   */
  route?: (path: string, method: string) => Endpoint | undefined
  /**
   * A model missing from the price table: `'reject'` answers 400 before anything is forwarded
   * (default); `'free'` meters the call with amount 0.
   */
  unknownModel?: 'reject' | 'free'
  /**
   * Longest attestation lifetime accepted, in seconds (default 600). Bounds how long the
   * store's nonce register keeps each nonce.
   */
  maxAttestationTtl?: number
  /**
   * Clock difference tolerated on expiry, in seconds (default 30). The nonce register keeps
   * each nonce until its expiry plus this skew, the last moment it would be accepted.
   */
  clockSkew?: number
  /** Largest request body read, in bytes (default 10 MiB). */
  maxBodyBytes?: number
  /** Longest time a request body may take to arrive, in milliseconds (default 30 s). */
  bodyTimeoutMs?: number
  /**
   * A body larger than this many bytes (by `content-length`, or once that many arrived) is a
   * large body, admitted only within `largeBodyBudget` (default 1 MiB).
   */
  largeBodyBytes?: number
  /**
   * Largest share of recent server-thread time that large bodies may take (reading, hashing,
   * parsing, measured), 0 < share ≤ 1 (default 0.2); past it a large body is refused with 429
   * `rma_busy` and `retry-after` before it is read. `false` admits every large body.
   */
  largeBodyBudget?: number | false
  /**
   * Threads that hash and parse large bodies (over `largeBodyBytes`), so the server thread
   * does not: `size` threads at most (default half the CPUs, 1 to 4). Their time counts in
   * `largeBodyBudget`. A thread that dies on a body fails that call with 503
   * `rma_body_worker_failed` (nothing forwarded or charged). `false` hashes and parses every
   * body on the server thread.
   */
  largeBodyWorkers?: { size?: number } | false
  /**
   * Output tokens assumed when a request sets no max-tokens bound, for its worst-case price
   * (default 16,384: the upstream's own default for OpenAI's chat models). `null` refuses
   * requests without a bound (400 `rma_max_tokens_required`).
   */
  defaultMaxOutputTokens?: number | null
  /**
   * JSON-RPC URL of the settlement chain. When set, `meter.ready` checks the chain id, the
   * contract's code and that the meter key is an authorised meter of the asset, and the meter
   * refuses paid calls (503) until it has, or for good if a check failed.
   */
  rpcUrl?: string
  /**
   * Refuse to serve with a price table the asset has not committed on chain (needs `rpcUrl`):
   * `meter.ready` rejects with 503 `rma_price_table_not_committed` unless the root of the
   * version in force (`createPriceTableTree(prices, { at: now })`) is committed
   * (`priceTableOf(assetId, root)` has a version), and a call arriving once a version that is
   * not committed comes into force is refused the same way (no receipt, no nonce used).
   * Default false.
   */
  requireCommittedPrices?: boolean
  /**
   * Prepaid mode: attested calls are served only while the user's prepaid balance on the
   * settlement contract covers them (see `createPrepaidCoverage` and docs/protocol.md,
   * "Prepaid coverage"); otherwise 402 `rma_insufficient_balance`. Needs `rpcUrl`. Calls
   * identified without an attestation (`identify`, custodial) stay postpaid.
   */
  prepaid?: PrepaidOptions | true
  logger?: MeterLogger
  /** Unix seconds; injectable for tests. */
  now?: () => number
}

export type PrepaidOptions = {
  /** The payment token (default: the asset's, read from the settlement contract). */
  token?: Address
  /**
   * How long a user's balance and settled vouchers read from chain are reused, in ms
   * (default 2,000). A refusal reads them again once, so a deposit counts at once.
   */
  balanceCacheMs?: number
  /**
   * The unacked tail: a call is refused (402 `rma_ack_required`) while this many of the
   * chain's receipts are not countersigned, counting calls in flight (default 16). Receipt N
   * must be acked before call N + maxUnacked is served. It bounds the provider's only credit
   * risk: at most `maxUnacked` calls' `maxAmount` per user that no voucher covers.
   */
  maxUnacked?: number
  /**
   * How long a reservation counts if its call never releases it (a crashed meter), in ms
   * (default 30 minutes: longer than any call).
   */
  reservationTtlMs?: number
}

/** Options parsed once: every default applied, the domain built, the key loading started. */
export type MeterConfig = {
  assetId: Hex
  domain: RmaDomain
  prices: PriceTable
  /** The root of each price-table version, built once: receipts carry the one in force. */
  priceTables: PriceTableRoots
  requireCommittedPrices: boolean
  store: ReceiptStore
  /** Called with the adapter's own request object (see {@link MeterOptions}). */
  identify: Identify<never> | undefined
  route: (path: string, method: string) => Endpoint | undefined
  unknownModel: 'reject' | 'free'
  maxAttestationTtl: number
  clockSkew: number
  maxBodyBytes: number
  bodyTimeoutMs: number
  largeBodyBytes: number
  largeBodyBudget: number | false
  largeBodyWorkers: { size?: number } | false
  defaultMaxOutputTokens: number | undefined
  rpcUrl: string | undefined
  /** Prepaid mode, resolved; undefined in postpaid mode. */
  prepaid: PrepaidConfig | undefined
  logger: MeterLogger
  now: () => number
  /** The meter key (loaded and checked when the config is resolved). */
  signer: () => Promise<{ signer: Signer; address: Address }>
}

// The client attests exactly these calls (`isMeteredCall` applies the same rule).
const defaultRoute = (path: string, method: string): Endpoint | undefined =>
  meteredEndpointOf(method, path)

/**
 * Validates options and applies defaults, and loads the meter key; throws {@link MeterError}
 * on a bad option or a missing or invalid key, so a misconfigured app fails at startup, not on
 * its first paid call.
 *
 * @example
 * const config = resolveMeterConfig({ assetId, chainId: 8453, settlementContract, prices, store })
 */
export function resolveMeterConfig<R = Request>(options: MeterOptions<R>): MeterConfig {
  if (!/^0x[0-9a-fA-F]{64}$/.test(options.assetId ?? ''))
    throw optionError('`assetId` must be 32 bytes of 0x-hex.')
  if (!/^0x[0-9a-fA-F]{40}$/.test(options.settlementContract ?? ''))
    throw optionError('`settlementContract` must be an address.')
  if (!options.store)
    throw optionError('`store` is required (for example createSqliteStore() from @rma/store).')
  if (!options.prices?.models)
    throw optionError('`prices` must be a table from createPriceTable().')
  const positive = (name: string, value: number | undefined) => {
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0))
      throw optionError(`\`${name}\` must be a positive integer.`)
  }
  positive('maxBodyBytes', options.maxBodyBytes)
  positive('bodyTimeoutMs', options.bodyTimeoutMs)
  positive('largeBodyBytes', options.largeBodyBytes)
  const budget = options.largeBodyBudget
  if (
    budget !== undefined &&
    budget !== false &&
    !(typeof budget === 'number' && budget > 0 && budget <= 1)
  )
    throw optionError('`largeBodyBudget` must be a share of time in (0, 1], or false.')
  const workers = options.largeBodyWorkers
  if (workers !== undefined && workers !== false) {
    positive('largeBodyWorkers.size', workers.size)
  }
  positive('maxAttestationTtl', options.maxAttestationTtl)
  if (options.defaultMaxOutputTokens !== null)
    positive('defaultMaxOutputTokens', options.defaultMaxOutputTokens)
  if (options.rpcUrl !== undefined && !/^(https?|wss?):\/\//.test(options.rpcUrl))
    throw optionError('`rpcUrl` must be an http(s) or ws(s) URL.')
  if (options.requireCommittedPrices && options.rpcUrl === undefined)
    throw optionError(
      '`requireCommittedPrices` needs `rpcUrl`: commitments are read from the settlement chain.',
    )
  let priceTables: PriceTableRoots
  try {
    priceTables = createPriceTableRoots(options.prices)
  } catch (error) {
    if (error instanceof BaseError) throw optionError(`\`prices\`: ${error.shortMessage}`)
    throw error
  }
  const prepaid = resolvePrepaid(options)
  const { signer, keystore, env } = options
  const key = loadMeterSignerSync({ signer, keystore, env })
  let loaded: Promise<{ signer: Signer; address: Address }> | undefined
  return {
    assetId: options.assetId.toLowerCase() as Hex,
    domain: createDomain({
      chainId: options.chainId,
      verifyingContract: options.settlementContract,
    }),
    prices: options.prices,
    priceTables,
    requireCommittedPrices: options.requireCommittedPrices ?? false,
    store: options.store,
    identify: options.identify,
    route: options.route ?? defaultRoute,
    unknownModel: options.unknownModel ?? 'reject',
    maxAttestationTtl: options.maxAttestationTtl ?? 600,
    clockSkew: options.clockSkew ?? 30,
    maxBodyBytes: options.maxBodyBytes ?? 10 * 1024 * 1024,
    bodyTimeoutMs: options.bodyTimeoutMs ?? 30_000,
    largeBodyBytes: options.largeBodyBytes ?? 1024 * 1024,
    largeBodyBudget: budget ?? 0.2,
    largeBodyWorkers: workers ?? {},
    defaultMaxOutputTokens:
      options.defaultMaxOutputTokens === null
        ? undefined
        : (options.defaultMaxOutputTokens ?? 16_384),
    rpcUrl: options.rpcUrl,
    prepaid,
    logger: options.logger ?? {},
    now: options.now ?? (() => Math.floor(Date.now() / 1000)),
    signer: () => {
      loaded ??= key.getAddress().then((address) => ({ signer: key, address: address as Address }))
      return loaded
    },
  }
}

function resolvePrepaid(options: MeterOptions<never>): PrepaidConfig | undefined {
  if (options.prepaid === undefined) return undefined
  const prepaid = options.prepaid === true ? {} : options.prepaid
  if (typeof prepaid !== 'object' || prepaid === null)
    throw optionError('`prepaid` must be true or an object of prepaid options.')
  if (options.rpcUrl === undefined)
    throw optionError('`prepaid` needs `rpcUrl`: balances are read from the settlement chain.')
  if (prepaid.token !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(prepaid.token))
    throw optionError('`prepaid.token` must be an address.')
  const count = (name: string, value: number | undefined, min: number) => {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= min))
      throw optionError(`\`prepaid.${name}\` must be an integer of at least ${min}.`)
  }
  count('balanceCacheMs', prepaid.balanceCacheMs, 0)
  count('maxUnacked', prepaid.maxUnacked, 1)
  count('reservationTtlMs', prepaid.reservationTtlMs, 1)
  return {
    token: prepaid.token?.toLowerCase() as Address | undefined,
    balanceCacheMs: prepaid.balanceCacheMs ?? 2_000,
    maxUnacked: prepaid.maxUnacked ?? 16,
    reservationTtlMs: prepaid.reservationTtlMs ?? 30 * 60_000,
  }
}

function optionError(message: string): MeterError {
  return new MeterError({ status: 500, type: 'server_error', code: 'rma_invalid_option', message })
}
