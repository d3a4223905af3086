import { canonicalPath, type Endpoint } from '@rma/core'
import { EventEmitter } from 'eventemitter3'
import { admitCall } from './admitCall.js'
import { checkMeterOnChain } from './checkMeterOnChain.js'
import {
  createPriceTableCommitments,
  type PriceTableCommitments,
} from './checkPriceTableCommitted.js'
import { createLargeBodyBudget, type LargeBodyTicket } from './createLargeBodyBudget.js'
import { createMeterHooks } from './createMeterHooks.js'
import { createMeterMetrics } from './createMeterMetrics.js'
import { createPrepaidCoverage } from './createPrepaidCoverage.js'
import { ensureStoreWritable } from './ensureStoreWritable.js'
import { MeterError } from './errors.js'
import { invalidPathError } from './invalidPathError.js'
import type { LargeBodyProcessor } from './LargeBodyProcessor.js'
import type { AdmittedCall, Meter } from './Meter.js'
import type { MeterEvents } from './MeterEvents.js'
import { meterFetch } from './meterFetch.js'
import { type MeterConfig, type MeterOptions, resolveMeterConfig } from './resolveMeterConfig.js'
import { loadTokenizer } from './usage/estimateUsage.js'

/** What an adapter adds to a meter: the parts that depend on its runtime. */
export type CreateMeterAdapterOptions = {
  /** Hashes and parses large bodies off the server thread (Express: its body-thread pool). */
  processLargeBody?: LargeBodyProcessor
}

/**
 * A meter: every paid call gets a usage receipt, priced with the price table, signed by the
 * meter key as the next link of the (asset, meter, user) chain, stored durably, then delivered
 * (`rma-receipt` + `rma-receipt-id` headers on JSON; `rma-receipt-id` and, with
 * `rma-receipt: inline`, a final `event: rma.receipt` frame on event streams). Requests are
 * routed on their `canonicalPath`; a path without one is refused. Any refusal is answered in
 * OpenAI's error shape and never reaches the handler. Construction throws on a missing or
 * invalid meter key. Serve it with `meter.fetch` or an adapter (`@rma/express`, …).
 *
 * @example
 * const meter = createMeter({ assetId, chainId: 8453, settlementContract, prices, store: createSqliteStore() })
 * const proxy = createOpenAIProxy({ upstream: 'https://api.openai.com/v1', apiKey })
 * export const POST = (request: Request) => meter.fetch(request, proxy)
 */
export function createMeter<R = Request>(
  options: MeterOptions<R>,
  adapter: CreateMeterAdapterOptions = {},
): Meter {
  const config = resolveMeterConfig(options)
  // Estimates need the tokenizer; start loading it now rather than on the first estimate.
  loadTokenizer().catch(() => undefined)
  const events = new EventEmitter<MeterEvents>()
  const metrics = createMeterMetrics()
  const coverage =
    config.prepaid &&
    createPrepaidCoverage({
      prepaid: config.prepaid,
      store: config.store,
      assetId: config.assetId,
      rpcUrl: config.rpcUrl!,
      settlementContract: config.domain.verifyingContract,
    })
  const budget =
    config.largeBodyBudget === false
      ? undefined
      : createLargeBodyBudget({ fraction: config.largeBodyBudget })
  const processLarge = config.largeBodyWorkers === false ? undefined : adapter.processLargeBody
  const commitments =
    config.requireCommittedPrices && config.rpcUrl !== undefined
      ? createPriceTableCommitments({
          rpcUrl: config.rpcUrl,
          settlementContract: config.domain.verifyingContract,
          assetId: config.assetId,
        })
      : undefined
  const ready = config.signer().then(async ({ address }) => {
    if (config.rpcUrl === undefined) return
    await checkMeterOnChain({
      rpcUrl: config.rpcUrl,
      chainId: config.domain.chainId,
      settlementContract: config.domain.verifyingContract,
      assetId: config.assetId,
      meter: address,
    })
    // A meter that would sign receipts no one could check against the chain does not start.
    if (commitments) await checkPricesInForce(config, commitments)
  })
  let failed: MeterError | undefined
  let isReady = false
  ready.then(
    () => {
      isReady = true
    },
    () => undefined,
  )
  // Observed here, so an app that never awaits `ready` gets no unhandled rejection; its calls
  // are refused with the reason instead.
  ready.catch((error: unknown) => {
    failed =
      error instanceof MeterError
        ? error
        : new MeterError({
            status: 503,
            type: 'server_error',
            code: 'rma_meter_misconfigured',
            message: 'The meter key cannot be used.',
            cause: error,
          })
    config.logger.error?.('rma: meter not ready', { code: failed.code, message: failed.message })
  })

  const endpointOf = (method: string, url: string): Endpoint | undefined => {
    const path = canonicalPath(url)
    if (path === undefined) throw invalidPathError(method)
    return config.route(path, method)
  }

  const admit: Meter['admit'] = async (incoming, endpoint): Promise<AdmittedCall> => {
    // A large body's admission, held until its response is over.
    let ticket: LargeBodyTicket | undefined
    let admitted: AdmittedCall['call']
    try {
      if (!isReady) await ready.catch(() => undefined)
      if (failed) throw failed
      // Before anything is read or claimed: a refused call uses no nonce and gets no receipt.
      if (commitments) await checkPricesInForce(config, commitments)
      admitted = await admitCall({
        config,
        incoming,
        endpoint,
        budget,
        processLarge,
        coverage,
        onTicket: (t) => {
          ticket = t
        },
      })
    } catch (error) {
      ticket?.release()
      metrics.requests.inc({ endpoint, outcome: 'rejected' })
      if (!(error instanceof MeterError)) events.emit('error', asError(error), {})
      throw error
    }
    const done = () => ticket?.release()
    try {
      await ensureStoreWritable(config.store)
    } catch (error) {
      void admitted.prepaid?.release().catch(() => undefined)
      metrics.requests.inc({ endpoint, outcome: 'failed' })
      done()
      throw error
    }
    return { call: admitted, hooks: createMeterHooks(config, admitted, events, metrics), done }
  }

  const meter: Meter = {
    config,
    events,
    metrics,
    ready,
    endpointOf,
    admit,
    fetch: (request, handler, init) => meterFetch(meter, request, handler, init),
  }
  return meter
}

/** The version in force now must be committed (`requireCommittedPrices`). */
function checkPricesInForce(config: MeterConfig, commitments: PriceTableCommitments) {
  const now = config.now()
  const version = config.priceTables.versions.findLast((v) => v.effectiveFrom <= now)
  return version ? commitments.check(version.root, version.effectiveFrom) : undefined
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
