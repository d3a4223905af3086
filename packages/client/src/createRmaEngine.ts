import {
  type Address,
  BaseError,
  type Endpoint,
  encodeAck,
  encodeAttestation,
  endpointOf,
  type Fraud,
  type FraudPriceTable,
  findFraud,
  type Hex,
  hashAttestation,
  hashBytes,
  hashReceipt,
  type RmaDomain,
  type SignedUsageReceipt,
  signAck,
  signAttestation,
} from '@rma/core'
import type { ContractTransactionReceipt, Signer } from 'ethers'
import { EventEmitter } from 'eventemitter3'
import { authenticateReceipt } from './authenticateReceipt.js'
import { type CallFacts, checkReceiptContent } from './checkReceiptContent.js'
import { type ChainState, createLedger, type ReceiptLedger } from './createLedger.js'
import { createMemoryLedgerStore } from './createMemoryLedgerStore.js'
import { createPrepaidAccount } from './createPrepaidAccount.js'
import {
  ChainMismatchError,
  InvalidClientOptionsError,
  NothingToProveError,
  PriceTableNotCommittedError,
  ReceiptCheckFailedError,
  ReceiptError,
  type ReceiptErrorContext,
  ReceiptMalformedError,
  ReceiptMissingError,
} from './errors.js'
import { fraudPriceTables } from './fraudPriceTables.js'
import { getReceipt } from './getReceipt.js'
import { type ProveFraudReturnType, proveFraud } from './proveFraud.js'
import {
  type ClientConfig,
  type RmaClientOptions,
  resolveClientConfig,
} from './resolveClientConfig.js'
import { selectFraud } from './selectFraud.js'
import type { Observation, PrepaidBalance, ReceiptRecord, RmaClientEvents } from './types.js'

/**
 * What `rma.prove()` proves: a fraud from `rma.frauds()`, a receipt (or its ledger record, call
 * id or hash) whose fraud the ledger's evidence shows, or two receipts of one seq.
 */
export type ProveTarget =
  | Fraud
  | ReceiptRecord
  | SignedUsageReceipt
  | string
  | readonly [SignedUsageReceipt, SignedUsageReceipt]

export type ProveOptions = {
  /** Sends the proof and receives the bounty (default: the client's signer, connected to a provider). */
  signer?: Signer
  /** The settlement contract (default: the client's `settlementContract`). */
  settlement?: Address
  /** Committed price tables to prove mispricing against, beyond those the client's `prices` rebuild. */
  priceTables?: readonly FraudPriceTable[]
}

/** The RMA side of a wrapped client: `client.rma`. */
export type RmaClient = {
  /** `receipt`, `mismatch`, `ack` and `error` events (eventemitter3). */
  readonly events: EventEmitter<RmaClientEvents>
  /** The user's receipt ledger. */
  readonly ledger: ReceiptLedger
  /** The EIP-712 domain receipts, attestations and acks are signed under. */
  readonly domain: RmaDomain
  /** The API user's address (lowercase). */
  address(): Promise<Address>
  /** The checked receipt of a call: see {@link getReceipt}. */
  getReceipt(target: object): Promise<ReceiptRecord>
  /**
   * A receipt by call id (`rma-receipt-id`). A call of this client resolves as it does in
   * `getReceipt` (fetching it from `GET /rma/receipts/:id` when it did not arrive inline). Any
   * other id is fetched and checked for signature, trusted meter, asset and user only, and is
   * not added to the ledger.
   */
  fetchReceipt(id: string, options?: { baseURL?: string }): Promise<ReceiptRecord>
  /** POSTs the acks not sent yet (the last receipts, in `next-call` mode) to `/rma/acks`. */
  flushAcks(): Promise<void>
  /** Resolves once every call in flight has a checked (or missing) receipt, written to the store. */
  settled(): Promise<void>
  /**
   * The user's prepaid account, read from chain at one block: balance, withdrawal request,
   * pending (this client's receipts beyond the settled vouchers), acked, debited and the
   * rebates credited back. Needs a provider (the signer's, or `prepaid.provider`).
   */
  balance(): Promise<PrepaidBalance>
  /** Deposits `amount` to the user's prepaid balance (approving the contract first if needed). */
  deposit(amount: bigint): Promise<ContractTransactionReceipt>
  /** Asks to withdraw `amount` after the contract's withdrawal delay (0 cancels). */
  requestWithdrawal(amount: bigint): Promise<ContractTransactionReceipt>
  /** Withdraws the requested amount once the delay has passed. */
  withdraw(): Promise<ContractTransactionReceipt>
  /**
   * The frauds the ledger's evidence proves (`findFraud` of `@rma/core` over every receipt
   * received, accepted or refused, every attestation this user signed, and the committed price
   * tables the client's `prices` rebuild).
   */
  frauds(options?: { priceTables?: readonly FraudPriceTable[] }): Promise<Fraud[]>
  /**
   * Proves a fraud on the settlement contract in one transaction and returns what its
   * `FraudProven` event paid: `{ txHash, kind, compensation, bounty }`. Given a receipt, proves
   * the fraud of it that pays most. Throws `NothingToProveError` when there is none and
   * `FraudProofRejectedError` when the contract would refuse it (both send nothing).
   */
  prove(target: ProveTarget, options?: ProveOptions): Promise<ProveFraudReturnType>
}

/** A metered call in flight. */
export type Call = CallFacts & {
  url: URL
  /**
   * How the response is read (`endpointOf` the URL's path, the meter's rule); a path that only
   * a custom `metered` option meters is read as OpenAI Chat Completions.
   */
  endpoint: Endpoint
  requestId: string | undefined
  receiptId: string | undefined
  result: Promise<ReceiptRecord>
}

type Settle = {
  /** The compact receipt; `'malformed'` for an unreadable inline frame; `undefined` when none came. */
  encoded: string | undefined | 'malformed'
  observed: Observation
  /** The client aborted the stream: the receipt is fetched, and may be `partial`. */
  aborted?: boolean
}

/** What the fetch wrapper and the axios interceptors share: attest, check, ack. */
export type Engine = {
  config: ClientConfig
  rma: RmaClient
  /** Signs the call's attestation; returns the headers to add (`rma-attestation`, maybe `rma-ack`). */
  begin(url: URL, body: Uint8Array): Promise<{ call: Call; headers: Record<string, string> }>
  /** Checks the call's receipt; resolves with the record or the error (never rejects). */
  settle(call: Call, input: Settle): Promise<ReceiptRecord | ReceiptError>
  /** No receipt is expected (failed call, unreadable body, network error). */
  skip(call: Call, reason: string): void
  /** The meter refused the call for balance (402 `rma_insufficient_balance`): tells the app. */
  refusedForBalance(url: URL, error: Record<string, unknown>): void
}

type CallState = Call & {
  resolve(record: ReceiptRecord): void
  reject(error: Error): void
}

/**
 * Resolves the options and builds the shared engine: ledger, events, calls in flight, acks.
 *
 * @example
 * const engine = createRmaEngine(options, { defaultURL: openai.baseURL })
 */
export function createRmaEngine(
  options: RmaClientOptions,
  extra: { defaultURL?: string } = {},
): Engine {
  const config = resolveClientConfig(options)
  const events = new EventEmitter<RmaClientEvents>()
  const onError = (error: Error) => events.emit('error', error)
  const ledger = createLedger({
    domain: config.domain,
    store: options.store ?? createMemoryLedgerStore(),
    onError,
  })
  const account = createPrepaidAccount({
    config,
    ledger,
    provider: config.prepaid?.provider,
    token: config.prepaid?.token,
    fromBlock: config.prepaid?.fromBlock,
  })
  const inFlight = new Set<CallState>()
  const postQueues = new WeakMap<ChainState, Promise<void>>()

  const finish = (call: CallState, outcome: ReceiptRecord | Error) => {
    if (!inFlight.delete(call)) return
    if (outcome instanceof Error) call.reject(outcome)
    else call.resolve(outcome)
    if (inFlight.size === 0) reportGaps()
  }

  /** Holes that calls in flight might have filled, checked once none is left. */
  const reportGaps = () => {
    for (const { chain, seq } of ledger.takeGaps()) {
      if (!config.checkGaps) continue
      const error = new ChainMismatchError({
        kind: 'gap',
        seq,
        details: `No receipt at seq ${seq} of the chain of meter ${chain.meter}.`,
      })
      ledger.reject(rejection(error, undefined, undefined), chain)
      events.emit('mismatch', error)
    }
  }

  /**
   * The highest seq this client may ack: the top of the run of receipts it holds, unbroken from
   * its last ack or from seq 1. A receipt above a hole (a call still in flight) is not acked
   * yet: its cumulative amount includes the missing one's, unchecked. A ledger that starts
   * mid-chain (a new device) acks from the first receipt it saw, once no call is in flight.
   */
  const ackableSeq = (chain: ChainState): number => {
    let seq = chain.ackedSeq
    if (seq === 0 && chain.min > 1) {
      if (inFlight.size > 0) return 0
      seq = chain.min - 1
    }
    while (chain.links.has(seq + 1) && seq + 1 <= (chain.head?.receipt.seq ?? 0)) seq++
    return seq
  }

  const ackHead = async (chain: ChainState, via: 'header' | 'post'): Promise<string> => {
    const seq = ackableSeq(chain)
    const link = chain.links.get(seq)!
    // Claimed before the await, so concurrent calls do not ack the same head twice.
    chain.ackedSeq = Math.max(chain.ackedSeq, seq)
    chain.ackedAt = Date.now()
    const ack = await signAck({
      ack: {
        assetId: chain.assetId,
        user: chain.user,
        meter: chain.meter,
        seq,
        receiptHash: link.hash,
        cumulativeAmount: link.cumulativeAmount,
      },
      signer: config.signer,
      domain: config.domain,
    })
    const encoded = encodeAck(ack)
    ledger.addAck(encoded, chain, seq)
    events.emit('ack', { meter: chain.meter, seq, receiptHash: link.hash, via })
    return encoded
  }

  const unacked = (chain: ChainState) =>
    !chain.disputed && chain.head !== undefined && ackableSeq(chain) > chain.ackedSeq
  const ackDue = (chain: ChainState) => Date.now() - chain.ackedAt >= config.ackInterval

  /** `post` mode: POST now, or once the interval since the last ack has passed. */
  const scheduleAck = (chain: ChainState) => {
    if (ackDue(chain)) return void queuePost(chain)
    if (chain.ackTimer) return
    chain.ackTimer = setTimeout(
      () => {
        chain.ackTimer = undefined
        void queuePost(chain)
      },
      config.ackInterval - (Date.now() - chain.ackedAt),
    )
    chain.ackTimer.unref?.()
  }

  const postAck = async (chain: ChainState) => {
    if (!unacked(chain) || !chain.origin) return
    const encoded = await ackHead(chain, 'post')
    const response = await config.fetch(`${config.rmaBaseURL(new URL(chain.origin))}/acks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ack: encoded }),
    })
    if (!response.ok)
      throw new BaseError('The meter refused an ack.', {
        code: 'ACK_REJECTED',
        details: `POST /rma/acks answered ${response.status}: ${(await response.text()).slice(0, 200)}`,
      })
    await response.body?.cancel()
  }

  /** One POST at a time per chain; each acks the chain's head at that moment. */
  const queuePost = (chain: ChainState): Promise<void> => {
    const next = (postQueues.get(chain) ?? Promise.resolve())
      .then(() => postAck(chain))
      .catch((error: unknown) => {
        onError(asError(error))
      })
    postQueues.set(chain, next)
    return next
  }

  const fetchEncoded = async (url: URL, id: string, poll: boolean) => {
    const deadline = Date.now() + (poll ? config.receiptFetchTimeout : 0)
    let delay = 50
    for (;;) {
      try {
        const response = await config.fetch(
          `${config.rmaBaseURL(url)}/receipts/${encodeURIComponent(id)}`,
          { headers: { accept: 'application/json' } },
        )
        if (response.ok) {
          const body = (await response.json()) as { encoded?: unknown } | null
          return typeof body?.encoded === 'string' ? body.encoded : undefined
        }
        await response.body?.cancel()
      } catch {}
      if (Date.now() + delay > deadline) return undefined
      await new Promise((resolve) => setTimeout(resolve, delay))
      delay = Math.min(delay * 2, 1_000)
    }
  }

  const settle = async (call: CallState, input: Settle): Promise<ReceiptRecord | ReceiptError> => {
    const aborted = input.aborted ?? false
    const context = (): ReceiptErrorContext => ({
      requestId: call.requestId,
      receiptId: call.receiptId,
    })
    let chain: ChainState | undefined
    let encoded = input.encoded
    try {
      if (encoded === 'malformed')
        throw new ReceiptMalformedError({
          ...context(),
          details: 'The inline rma.receipt frame is not {"object":"rma.receipt","receipt":"…"}.',
        })
      if (encoded === undefined && call.receiptId)
        encoded = await fetchEncoded(call.url, call.receiptId, aborted)
      if (encoded === undefined)
        throw new ReceiptMissingError({
          ...context(),
          details: aborted
            ? `GET /rma/receipts/${call.receiptId} had no receipt for the aborted stream within ${config.receiptFetchTimeout} ms.`
            : 'The response had no rma-receipt header or inline rma.receipt frame, and /rma/receipts had none either.',
        })
      const { receipt, hash } = await authenticateReceipt(config, encoded, context())
      let issue = ledger.checkChain(receipt, hash, config.checkGaps && inFlight.size > 1)
      if (issue === 'deferred' || (issue?.kind === 'gap' && !config.checkGaps)) issue = undefined
      chain =
        issue?.kind === 'fork' || issue?.kind === 'duplicate'
          ? ledger.chain(receipt)
          : ledger.link(receipt, hash, encoded)
      const checks = checkReceiptContent({
        config,
        receipt,
        call,
        observed: input.observed,
        aborted,
        context: { ...context(), encoded },
      })
      if (issue) throw new ChainMismatchError({ ...context(), encoded, receipt, ...issue })
      if (config.priceTableCommitted && !(await config.priceTableCommitted(receipt.priceTable)))
        throw new PriceTableNotCommittedError({
          ...context(),
          encoded,
          receipt,
          root: receipt.priceTable,
        })
      const record: ReceiptRecord = {
        id: call.receiptId ?? hash,
        requestId: call.requestId,
        hash,
        receipt,
        encoded,
        checks,
        receivedAt: Date.now(),
      }
      ledger.accept(record, call.url.origin)
      events.emit('receipt', record)
      if (config.ackMode === 'post' && chain) scheduleAck(chain)
      finish(call, record)
      return record
    } catch (cause) {
      const error =
        cause instanceof ReceiptError
          ? cause
          : new ReceiptCheckFailedError({
              ...context(),
              encoded: typeof encoded === 'string' ? encoded : undefined,
              cause,
            })
      ledger.reject(rejection(error, call.receiptId, call.requestId), chain)
      events.emit('mismatch', error)
      finish(call, error)
      return error
    }
  }

  const rma: RmaClient = {
    events,
    ledger,
    domain: config.domain,
    address: config.user,
    getReceipt,
    async fetchReceipt(id, fetchOptions = {}) {
      for (const call of inFlight) if (call.receiptId === id) return call.result
      await ledger.ready
      const known = ledger.get(id)
      if (known) return known
      const base = fetchOptions.baseURL ?? options.rmaBaseURL ?? extra.defaultURL
      if (!base)
        throw new InvalidClientOptionsError({
          shortMessage: 'fetchReceipt needs a base URL.',
          details: 'Pass { baseURL } or set `rmaBaseURL`.',
        })
      const url = new URL(base)
      const encoded = await fetchEncoded(url, id, false)
      if (encoded === undefined) throw new ReceiptMissingError({ receiptId: id })
      const { receipt, hash } = await authenticateReceipt(config, encoded, { receiptId: id })
      return {
        id,
        requestId: undefined,
        hash,
        receipt,
        encoded,
        checks: {
          usage:
            receipt.usageSource === 'reported'
              ? 'unreported'
              : receipt.usageSource === 'estimated'
                ? 'estimated'
                : 'partial',
          response: 'unprovable',
          price: 'unchecked',
        },
        receivedAt: Date.now(),
      }
    },
    async flushAcks() {
      await ledger.ready
      // Every chain: a POST still queued must finish too.
      await Promise.all([...ledger.chains()].map(queuePost))
    },
    async settled() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight].map((call) => call.result))
      await ledger.flushed()
    },
    balance: () => account.balance(),
    deposit: (amount) => account.deposit(amount),
    requestWithdrawal: (amount) => account.requestWithdrawal(amount),
    withdraw: () => account.withdraw(),
    frauds: (fraudOptions = {}) => frauds(fraudOptions.priceTables),
    async prove(target, proveOptions = {}) {
      const fraud = await fraudOf(target, proveOptions.priceTables)
      return proveFraud({
        fraud,
        signer: proveOptions.signer ?? config.signer,
        settlement: proveOptions.settlement ?? config.domain.verifyingContract,
      })
    },
  }

  async function frauds(extra: readonly FraudPriceTable[] = []): Promise<Fraud[]> {
    await ledger.ready
    await ledger.flushed()
    const { receipts, attestations } = ledger.evidence()
    return findFraud({
      domain: config.domain,
      receipts,
      attestations,
      priceTables: [...fraudPriceTables(config.prices, receipts), ...extra],
    })
  }

  async function fraudOf(
    target: ProveTarget,
    extra: readonly FraudPriceTable[] | undefined,
  ): Promise<Fraud> {
    if (Array.isArray(target)) {
      const [fraud] = findFraud({ domain: config.domain, receipts: target })
      if (fraud?.kind !== 'equivocation')
        throw new NothingToProveError({
          details:
            'The two receipts are not both validly signed receipts of one (asset, meter, user, seq) with different hashes.',
        })
      return fraud
    }
    if (typeof target === 'object' && 'kind' in target && typeof target.kind === 'string')
      return target as Fraud
    let hash: Hex
    if (typeof target === 'string') hash = ledger.get(target)?.hash ?? (target as Hex)
    else if ('receipt' in target && 'hash' in target) hash = target.hash
    else hash = hashReceipt(target as SignedUsageReceipt, config.domain)
    return selectFraud(await frauds(extra), hash)
  }

  return {
    config,
    rma,
    async begin(url, body) {
      await ledger.ready
      const user = await config.user()
      const requestHash = hashBytes(body)
      const startedAt = Date.now()
      const attestation = await signAttestation({
        signer: config.signer,
        domain: config.domain,
        attestation: {
          assetId: config.assetId,
          user,
          requestHash,
          nonce: randomNonce(),
          expiry: Math.floor(startedAt / 1000) + config.attestationTtl,
          maxAmount: config.maxAmountPerCall,
        },
      })
      const encodedAttestation = encodeAttestation(attestation)
      // Kept before the call is sent: if the meter charges more than it allows, this is the proof.
      ledger.addAttestation(encodedAttestation)
      const headers: Record<string, string> = { 'rma-attestation': encodedAttestation }
      if (config.ackMode === 'next-call') {
        for (const chain of ledger.chains()) {
          if (!unacked(chain) || !ackDue(chain) || chain.origin !== url.origin) continue
          headers['rma-ack'] = await ackHead(chain, 'header')
          break
        }
      }
      let resolve!: (record: ReceiptRecord) => void
      let reject!: (error: Error) => void
      const result = new Promise<ReceiptRecord>((res, rej) => {
        resolve = res
        reject = rej
      })
      // Nobody may ask for this receipt: its failure is reported through `mismatch` instead.
      result.catch(() => undefined)
      const call: CallState = {
        url,
        endpoint: endpointOf(url.pathname) ?? 'chat',
        body,
        requestHash,
        attestation: hashAttestation(attestation, config.domain),
        maxAmount: config.maxAmountPerCall,
        startedAt,
        requestId: undefined,
        receiptId: undefined,
        result,
        resolve,
        reject,
      }
      inFlight.add(call)
      return { call, headers }
    },
    settle: (call, input) => settle(call as CallState, input),
    refusedForBalance(url, error) {
      const amount = (value: unknown) =>
        typeof value === 'string' && /^[0-9]+$/.test(value) ? BigInt(value) : undefined
      events.emit('insufficientBalance', {
        url: url.href,
        token: typeof error.token === 'string' ? (error.token as Address) : undefined,
        balance: amount(error.balance),
        pending: amount(error.pending),
        reserved: amount(error.reserved),
        needed: amount(error.needed),
        message: typeof error.message === 'string' ? error.message : '',
      })
    },
    skip(call, reason) {
      finish(
        call as CallState,
        new ReceiptMissingError({
          requestId: call.requestId,
          receiptId: call.receiptId,
          details: reason,
        }),
      )
    },
  }
}

function rejection(error: ReceiptError, id: string | undefined, requestId: string | undefined) {
  return {
    id: error.receiptId ?? id,
    requestId: error.requestId ?? requestId,
    encoded: error.encoded,
    code: error.code,
    message: error.shortMessage,
    at: Date.now(),
  }
}

function randomNonce(): bigint {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  let hex = '0x'
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0')
  return BigInt(hex)
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
