import {
  type Address,
  BaseError,
  createDomain,
  createPriceTableRoots,
  type Hex,
  type PriceTable,
  type PriceTableRoots,
  type RmaDomain,
} from '@rma/core'
import type { Provider, Signer } from 'ethers'
import type { LedgerStore } from './createMemoryLedgerStore.js'
import { InvalidClientOptionsError } from './errors.js'
import { isMeteredCall } from './isMeteredCall.js'

/** Trusted meter addresses, or a loader (read them from the settlement contract, a config service). */
export type TrustedMeters =
  | readonly Address[]
  | (() => readonly Address[] | Promise<readonly Address[]>)

export type RmaClientOptions = {
  /** The API user's key (any ethers v6 Signer): signs attestations and acks. */
  signer: Signer
  /** The model asset called (bytes32). */
  assetId: Hex
  /** Chain id of the settlement contract (EIP-712 domain). */
  chainId: number | bigint
  /** The settlement contract (EIP-712 `verifyingContract`). */
  settlementContract: Address
  /**
   * Meter keys trusted to sign receipts for the asset. A function is called on first use and
   * again (at most every 5 s) when a receipt names an unknown meter, so meters added on chain
   * are picked up.
   */
  meters: TrustedMeters
  /** Spend cap of each call, in payment-token base units (the attestation's `maxAmount`). */
  maxAmountPerCall: bigint
  /** Seconds an attestation stays valid (default 60; the meter accepts at most 600). */
  attestationTtl?: number
  /**
   * With a price table, each receipt's amount must be its price (capped at the spend cap), and
   * its `priceTable` the root of this table's version in force at its timestamp
   * (`createPriceTableTree`): a receipt claiming another table is refused
   * (`PriceTableMismatchError`).
   */
  prices?: PriceTable
  /**
   * Whether the asset committed a price-table root on chain (`priceTableOf(assetId, root)`
   * has a version ≠ 0). When set, a receipt whose `priceTable` is not committed is refused
   * (`PriceTableNotCommittedError`): nobody could prove it mispriced. `true` answers are cached.
   *
   * @example
   * priceTableCommitted: async (root) => (await settlement.priceTableOf(assetId, root))[0] !== 0n
   */
  priceTableCommitted?: (root: Hex) => boolean | Promise<boolean>
  /** Where the ledger keeps receipts and acks (default: in memory). */
  store?: LedgerStore
  /** `'throw'` (default): a failed check fails the call; `'event'`: the call succeeds and `mismatch` is emitted. */
  onMismatch?: 'throw' | 'event'
  /** When to countersign receipts: on the next call (`rma-ack` header, default), by POST to `/rma/acks`, or never. */
  ackMode?: 'next-call' | 'post' | 'off'
  /**
   * At most one ack per chain per this many ms (default 1,000; 0: ack every receipt). Acking a
   * chain's head acks every receipt before it, and each ack costs the meter a signature
   * recovery, so under load one ack a second loses nothing. `flushAcks()` sends the last one.
   */
  ackInterval?: number
  /** Base URL of the meter's `/rma` routes (default: the origin of each call + `/rma`). */
  rmaBaseURL?: string
  /** Which calls the meter charges (default: POST to chat/completions, completions, responses, embeddings). */
  metered?: (url: URL, method: string) => boolean
  /** How long to keep asking `/rma/receipts/:id` for an aborted stream's receipt, in ms (default 10,000). */
  receiptFetchTimeout?: number
  /** Tolerated clock difference with the meter for receipt timestamps, in seconds (default 300). */
  clockSkew?: number
  /**
   * Report seq gaps in a chain (default true). Turn off when the same user key calls the meter
   * from several processes: each then sees only part of the chain.
   */
  checkGaps?: boolean
  /** The fetch that reaches the network (default: the OpenAI client's own, else global fetch). */
  fetch?: typeof fetch
  /**
   * Prepaid mode: the user pays from a balance on the settlement contract, and each ack is a
   * voucher the settler debits. Acks go with every call (`ackInterval` defaults to 0: the meter
   * serves only a bounded unacked tail), and `client.rma` reads the balance and sends deposits
   * and withdrawals through `signer` (connected to a provider, or `provider` here).
   */
  prepaid?: PrepaidClientOptions | true
}

export type PrepaidClientOptions = {
  /** Reads the chain (default: the signer's provider). */
  provider?: Provider
  /** The payment token (default: the asset's, read from the settlement contract). */
  token?: Address
  /** First block to read settlement events from (default 0; the contract's deployment block is better). */
  fromBlock?: number
}

export type ClientConfig = {
  signer: Signer
  user: () => Promise<Address>
  assetId: Hex
  domain: RmaDomain
  trustedMeter: (meter: Address) => Promise<boolean>
  maxAmountPerCall: bigint
  attestationTtl: number
  prices: PriceTable | undefined
  /** The roots of `prices`' versions (built once), when `prices` is set. */
  priceTables: PriceTableRoots | undefined
  /** Resolves whether a root is committed for the asset (cached when true), when configured. */
  priceTableCommitted: ((root: Hex) => Promise<boolean>) | undefined
  onMismatch: 'throw' | 'event'
  ackMode: 'next-call' | 'post' | 'off'
  ackInterval: number
  rmaBaseURL: (callUrl: URL) => string
  metered: (url: URL, method: string) => boolean
  receiptFetchTimeout: number
  clockSkew: number
  checkGaps: boolean
  fetch: typeof fetch
  prepaid: PrepaidClientOptions | undefined
}

/**
 * Checks the options once and resolves every default.
 *
 * @example
 * const config = resolveClientConfig({ signer, assetId, chainId: 8453, settlementContract, meters: [meter], maxAmountPerCall: 10n ** 6n })
 */
export function resolveClientConfig(options: RmaClientOptions): ClientConfig {
  const { signer, assetId, settlementContract, maxAmountPerCall } = options
  if (!signer || typeof signer.signTypedData !== 'function')
    throw new InvalidClientOptionsError({
      shortMessage: '`signer` must be an ethers v6 Signer (the API user).',
    })
  if (typeof assetId !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(assetId))
    throw new InvalidClientOptionsError({
      shortMessage: '`assetId` must be a 0x-prefixed bytes32.',
    })
  if (typeof settlementContract !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(settlementContract))
    throw new InvalidClientOptionsError({
      shortMessage: '`settlementContract` must be an address.',
    })
  if (typeof maxAmountPerCall !== 'bigint' || maxAmountPerCall < 0n)
    throw new InvalidClientOptionsError({
      shortMessage: '`maxAmountPerCall` must be a non-negative bigint.',
      details: 'It is the spend cap of each call, in payment-token base units.',
    })
  const ttl = options.attestationTtl ?? 60
  if (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl > 600)
    throw new InvalidClientOptionsError({
      shortMessage: '`attestationTtl` must be 1 to 600 seconds.',
    })
  if (options.meters === undefined)
    throw new InvalidClientOptionsError({
      shortMessage: '`meters` is required: the meter addresses trusted to sign receipts.',
    })
  let priceTables: PriceTableRoots | undefined
  try {
    priceTables = options.prices ? createPriceTableRoots(options.prices) : undefined
  } catch (error) {
    if (error instanceof BaseError)
      throw new InvalidClientOptionsError({ shortMessage: `\`prices\`: ${error.shortMessage}` })
    throw error
  }
  if (
    options.priceTableCommitted !== undefined &&
    typeof options.priceTableCommitted !== 'function'
  )
    throw new InvalidClientOptionsError({
      shortMessage: '`priceTableCommitted` must be a function of a price-table root.',
    })
  const fetchImpl = options.fetch ?? globalThis.fetch
  let address: Promise<Address> | undefined
  return {
    signer,
    user: () => {
      address ??= signer.getAddress().then((a) => a.toLowerCase() as Address)
      return address
    },
    assetId: assetId.toLowerCase() as Hex,
    domain: createDomain({ chainId: options.chainId, verifyingContract: settlementContract }),
    trustedMeter: createTrustedMeters(options.meters),
    maxAmountPerCall,
    attestationTtl: ttl,
    prices: options.prices,
    priceTables,
    priceTableCommitted: options.priceTableCommitted && cacheCommitted(options.priceTableCommitted),
    onMismatch: options.onMismatch ?? 'throw',
    ackMode: options.ackMode ?? 'next-call',
    ackInterval: options.ackInterval ?? (options.prepaid ? 0 : 1_000),
    rmaBaseURL: options.rmaBaseURL
      ? () => options.rmaBaseURL!.replace(/\/+$/, '')
      : (url) => `${url.origin}/rma`,
    metered: options.metered ?? isMeteredCall,
    receiptFetchTimeout: options.receiptFetchTimeout ?? 10_000,
    clockSkew: options.clockSkew ?? 300,
    checkGaps: options.checkGaps ?? true,
    fetch: (input, init) => fetchImpl.call(undefined, input, init),
    prepaid: options.prepaid === true ? {} : options.prepaid,
  }
}

function createTrustedMeters(meters: TrustedMeters): (meter: Address) => Promise<boolean> {
  if (typeof meters !== 'function') {
    const set = new Set(meters.map((m) => m.toLowerCase()))
    return async (meter) => set.has(meter.toLowerCase())
  }
  let set: Promise<Set<string>> | undefined
  let loadedAt = 0
  const load = () => {
    loadedAt = Date.now()
    set = Promise.resolve(meters()).then((list) => new Set(list.map((m) => m.toLowerCase())))
    // A failed load is retried on the next receipt rather than cached.
    set.catch(() => {
      set = undefined
    })
    return set
  }
  return async (meter) => {
    const key = meter.toLowerCase()
    if ((await (set ?? load())).has(key)) return true
    if (Date.now() - loadedAt < 5_000) return false
    return (await load()).has(key)
  }
}

/** A committed root stays committed: `true` answers are kept, others asked again. */
function cacheCommitted(
  read: (root: Hex) => boolean | Promise<boolean>,
): (root: Hex) => Promise<boolean> {
  const committed = new Set<string>()
  return async (root) => {
    const key = root.toLowerCase()
    if (committed.has(key)) return true
    const answer = (await read(root)) === true
    if (answer) committed.add(key)
    return answer
  }
}
