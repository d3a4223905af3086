import { randomUUID } from 'node:crypto'
import {
  type Address,
  BaseError,
  canonicalPath,
  decodeAck,
  type Endpoint,
  hashAttestation,
  hashBytes,
  type ModelPrice,
  resolveModelPrice,
  UnknownModelError,
  verifyAck,
  zeroHash,
} from '@rma/core'
import type { RmaRequestContext } from '@rma/meter'
import {
  authenticate,
  checkMeterOnChain,
  createLargeBodyBudget,
  createMeteredCall,
  createMeterHooks,
  createMeterMetrics,
  createPrepaidCoverage,
  createPriceTableCommitments,
  ensureStoreWritable,
  type LargeBodyBudget,
  type LargeBodyTicket,
  loadTokenizer,
  type MeterConfig,
  MeterError,
  type MeterEvents,
  type MeterMetrics,
  type MeterOptions,
  type PrepaidCoverage,
  type PriceTableCommitments,
  type RequestFields,
  requestFields,
  resolveMeterConfig,
  storeCall,
  worstCasePrice,
} from '@rma/meter'
import { EventEmitter } from 'eventemitter3'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { clientGone } from './clientGone.js'
import { closeUnreadBody } from './closeUnreadBody.js'
import { type BodyWorkerPool, createBodyWorkerPool } from './createBodyWorkerPool.js'
import { observeResponse } from './observeResponse.js'
import { readRawBody } from './readRawBody.js'
import { sendError } from './sendError.js'

/** The options of `rmaMeter()`: `identify` receives Express's `req`. */
export type RmaMeterOptions = MeterOptions<Request>

/** The middleware, with its resolved config, events and metrics. */
export type RmaMeter = RequestHandler & {
  readonly config: MeterConfig
  readonly events: EventEmitter<MeterEvents>
  readonly metrics: MeterMetrics
  /**
   * Resolves once the meter can sign: its key answers and, with `rpcUrl`, the chain id, the
   * settlement contract and the key's authorisation as a meter of the asset are checked on
   * chain. Rejects with a {@link MeterError} `rma_meter_misconfigured` saying what to change;
   * paid calls are refused (503) until it resolves, and for good if it rejected.
   */
  readonly ready: Promise<void>
}

/**
 * Meters OpenAI-compatible calls: every paid call gets a usage receipt, priced with the
 * price table, signed by the meter key as the next link of the (asset, meter, user) chain,
 * stored durably, then delivered: `rma-receipt` + `rma-receipt-id` headers on JSON responses,
 * and on event streams `rma-receipt-id` plus, when the client sent `rma-receipt: inline`, a
 * final `event: rma.receipt` frame. Stream bytes are forwarded as written, unbuffered.
 *
 * Mount it before any body parser, in front of `openaiProxy()` or the app's own handlers.
 * Requests are routed on their `canonicalPath`; a path without one is refused. A paid call is
 * checked cheapest first (attestation from its headers, then the body read under the size and
 * time limits and hashed as it arrives, its price against the attestation's `maxAmount`, and
 * last the nonce in the store's register); any refusal is answered in OpenAI's error shape and
 * never reaches the handler. Construction throws on a missing or invalid meter key.
 *
 * @example
 * const meter = rmaMeter({ assetId, chainId: 8453, settlementContract, prices, store: createSqliteStore() })
 * app.use(meter)
 * app.use(rmaRouter({ meter }))
 * app.post('/v1/*path', openaiProxy({ upstream: 'https://api.openai.com/v1', apiKey }))
 */
export function rmaMeter(options: RmaMeterOptions): RmaMeter {
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
  const pool =
    config.largeBodyWorkers === false ? undefined : createBodyWorkerPool(config.largeBodyWorkers)
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

  async function rmaMeterMiddleware(req: Request, res: Response, next: NextFunction) {
    const path = canonicalPath(req.url)
    if (path === undefined) {
      closeUnreadBody(req, res)
      return sendError(res, invalidPath(req.method))
    }
    const endpoint = config.route(path, req.method)
    if (!endpoint) return next()
    let context: RmaRequestContext
    // A large body's admission, held until its response is over.
    let ticket: LargeBodyTicket | undefined
    try {
      if (!isReady) await ready.catch(() => undefined)
      if (failed) throw failed
      // Before anything is read or claimed: a refused call uses no nonce and gets no receipt.
      if (commitments) await checkPricesInForce(config, commitments)
      context = await begin(config, req, endpoint, budget, pool, coverage, (admitted) => {
        ticket = admitted
      })
    } catch (error) {
      ticket?.release()
      metrics.requests.inc({ endpoint, outcome: 'rejected' })
      if (!(error instanceof MeterError)) events.emit('error', asError(error), {})
      // A body refused unread is not read at all: the connection closes after the answer.
      closeUnreadBody(req, res)
      return sendError(res, error)
    }
    req.rma = context
    if (ticket) res.once('close', ticket.release)
    observeResponse(res, context.id, createMeterHooks(config, context, events, metrics))
    try {
      await ensureStoreWritable(config.store)
    } catch (error) {
      void context.prepaid?.release().catch(() => undefined)
      return sendError(res, error)
    }
    next()
  }

  const meter = Object.assign(rmaMeterMiddleware, { config, events, metrics, ready })
  if (pool) pools.set(meter, pool)
  return meter
}

const pools = new WeakMap<RmaMeter, BodyWorkerPool>()

/** The threads of a meter that parse its large bodies, to make them fail in tests. Not exported by the package. */
export function bodyWorkerPoolOf(meter: RmaMeter): BodyWorkerPool | undefined {
  return pools.get(meter)
}

/**
 * Admits a paid call, cheapest check first, so a refused request costs the least it can: the
 * headers (attestation signature, asset, expiry) before a byte of the body; the body read
 * under the size and time limits and hashed while it arrives; the hash, JSON and price; only
 * then the nonce, claimed in the store's register, so refused calls never fill it.
 */
async function begin(
  config: MeterConfig,
  req: Request,
  endpoint: Endpoint,
  budget: LargeBodyBudget | undefined,
  pool: BodyWorkerPool | undefined,
  coverage: PrepaidCoverage | undefined,
  onTicket: (ticket: LargeBodyTicket) => void,
): Promise<RmaRequestContext> {
  const startedAt = performance.now()
  const now = config.now()
  const { user, maxAmount, attestation } = await authenticate({
    req,
    request: req,
    assetId: config.assetId,
    domain: config.domain,
    identify: config.identify,
    now,
    maxAttestationTtl: config.maxAttestationTtl,
    clockSkew: config.clockSkew,
  })
  let ticket: LargeBodyTicket | undefined
  const read = await readRawBody(req, {
    limit: config.maxBodyBytes,
    timeoutMs: config.bodyTimeoutMs,
    largeBytes: config.largeBodyBytes,
    admitLarge:
      budget &&
      (() => {
        const admitted = budget.admit()
        if ('ticket' in admitted) {
          ticket = admitted.ticket
          return onTicket(ticket)
        }
        req.res?.setHeader('retry-after', String(admitted.retryAfterSeconds))
        throw new MeterError({
          status: 429,
          type: 'rate_limit_error',
          code: 'rma_busy',
          message: `The server is busy with large request bodies (over ${config.largeBodyBytes} bytes); retry after ${admitted.retryAfterSeconds} s.`,
          details: 'Smaller requests are served meanwhile.',
        })
      }),
    onBusy: (ms) => ticket?.charge(ms),
    // With a pool, a large body is hashed and parsed there, not on the server thread.
    skipLargeHash: pool !== undefined,
  })
  // Parsing and pricing a large body are charged to the budget as measured, refused or not.
  const charged = <T>(work: () => T): T => {
    const t0 = performance.now()
    try {
      return work()
    } finally {
      ticket?.charge(performance.now() - t0)
    }
  }
  let rawBody = read.raw
  let requestHash = read.hash
  let fields: RequestFields
  // The parsed body: at once for a small one; for a large one only if something asks for it
  // (an app's own handler reading `req.body`; never `openaiProxy`).
  let body: () => Record<string, unknown>
  if (requestHash === undefined && pool) {
    // A client that left while its body arrived gets nothing more done for it.
    if (clientGone(req)) throw clientGoneError()
    const processed = await pool.process(rawBody)
    ticket?.charge(processed.busyMs)
    rawBody = processed.raw
    requestHash = processed.hash
    ;(req as Request & { rawBody?: Buffer }).rawBody = rawBody
    if (attestation && attestation.requestHash !== requestHash) throw hashMismatch()
    if (processed.fields === undefined) throw invalidJson()
    fields = processed.fields
    let parsed: Record<string, unknown> | undefined
    const raw = rawBody
    body = () => {
      parsed ??= parseBody(raw)
      return parsed
    }
  } else {
    const hash = requestHash ?? hashBytes(rawBody)
    requestHash = hash
    if (attestation && attestation.requestHash !== hash) throw hashMismatch()
    const parsed = charged(() => parseBody(rawBody))
    fields = requestFields(parsed)
    body = () => parsed
  }
  Object.defineProperty(req, 'body', {
    configurable: true,
    enumerable: true,
    get: body,
    set(value: unknown) {
      Object.defineProperty(req, 'body', {
        configurable: true,
        enumerable: true,
        writable: true,
        value,
      })
    },
  })
  const model = typeof fields.model === 'string' ? fields.model : ''
  let price: ModelPrice | undefined
  try {
    price = resolveModelPrice(config.prices, model, now)
  } catch (error) {
    if (!(error instanceof UnknownModelError)) throw error
    if (config.unknownModel === 'reject')
      throw new MeterError({
        status: 400,
        type: 'invalid_request_error',
        code: 'rma_model_not_priced',
        message: `Model "${model}" has no price on this server.`,
      })
  }
  if (maxAmount !== undefined && price) {
    const worst = charged(() =>
      worstCasePrice({
        endpoint,
        body: fields,
        bodyBytes: rawBody.length,
        price,
        defaultMaxOutputTokens: config.defaultMaxOutputTokens,
      }),
    )
    if (worst.amount > maxAmount)
      throw new MeterError({
        status: 402,
        type: 'invalid_request_error',
        code: 'rma_insufficient_max_amount',
        message: `This call can cost up to ${worst.amount} base units but the attestation allows ${maxAmount}.`,
        details: `The worst case counts ${worst.inputTokens} input tokens (one per body byte) and ${worst.outputTokens} output tokens of ${model}: sign a maxAmount of at least ${worst.amount}, or lower the max tokens.`,
      })
  }
  await acceptAck(config, req)
  // Nothing is claimed (nor forwarded, nor charged) for a client that already left.
  if (clientGone(req)) throw clientGoneError()
  // Prepaid: the call's maxAmount is reserved against the user's balance (after its ack, which
  // may shorten its unacked tail; before its nonce, so refused calls do not fill the register).
  const prepaid =
    coverage && attestation
      ? await storeCall(async () =>
          coverage.admit({
            user: attestation.user.toLowerCase() as Address,
            meter: (await config.signer()).address,
            amount: attestation.maxAmount,
          }),
        )
      : undefined
  if (attestation) {
    try {
      const fresh = await storeCall(() =>
        config.store.claimNonce({
          assetId: config.assetId,
          user: attestation.user,
          nonce: attestation.nonce,
          keepUntil: attestation.expiry + config.clockSkew,
        }),
      )
      if (!fresh)
        throw new MeterError({
          status: 401,
          type: 'authentication_error',
          code: 'rma_attestation_replayed',
          message: 'The attestation nonce was already used.',
        })
    } catch (error) {
      void prepaid?.release().catch(() => undefined)
      throw error
    }
  }
  return createMeteredCall({
    id: randomUUID(),
    endpoint,
    user: user.toLowerCase() as `0x${string}`,
    requestHash,
    rawBody,
    body,
    fields,
    stream: fields.stream === true,
    inline: req.get('rma-receipt') === 'inline',
    maxAmount,
    attestationDigest: attestation ? hashAttestation(attestation, config.domain) : zeroHash,
    startedAt,
    prepaid,
  })
}

/** The version in force now must be committed (`requireCommittedPrices`). */
function checkPricesInForce(config: MeterConfig, commitments: PriceTableCommitments) {
  const now = config.now()
  const version = config.priceTables.versions.findLast((v) => v.effectiveFrom <= now)
  return version ? commitments.check(version.root, version.effectiveFrom) : undefined
}

function clientGoneError(): MeterError {
  return new MeterError({
    status: 499,
    type: 'invalid_request_error',
    code: 'rma_client_gone',
    message: 'The client closed the connection before the call was forwarded.',
  })
}

function hashMismatch(): MeterError {
  return new MeterError({
    status: 400,
    type: 'invalid_request_error',
    code: 'rma_request_hash_mismatch',
    message: 'The attestation does not match the request body.',
    details: 'Sign keccak256 of the exact body bytes sent.',
  })
}

function invalidJson(): MeterError {
  return new MeterError({
    status: 400,
    type: 'invalid_request_error',
    code: 'rma_invalid_json',
    message: 'The request body must be a JSON object.',
  })
}

function parseBody(raw: Buffer): Record<string, unknown> {
  let body: unknown
  try {
    body = JSON.parse(raw.toString('utf8'))
  } catch {
    body = undefined
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidJson()
  return body as Record<string, unknown>
}

/**
 * An `rma-ack` header countersigns an earlier receipt; a bad one is rejected, not ignored,
 * and one naming no stored receipt of its chain is refused by the store and here.
 */
async function acceptAck(config: MeterConfig, req: Request): Promise<void> {
  const header = req.get('rma-ack')
  if (header === undefined) return
  let ack: ReturnType<typeof decodeAck>
  try {
    ack = decodeAck(header)
  } catch (error) {
    throw new MeterError({
      status: 400,
      type: 'invalid_request_error',
      code: 'rma_ack_malformed',
      message: 'Malformed rma-ack header.',
      details: error instanceof BaseError ? error.shortMessage : undefined,
    })
  }
  if (!verifyAck({ ack, domain: config.domain }))
    throw new MeterError({
      status: 401,
      type: 'authentication_error',
      code: 'rma_ack_invalid',
      message: 'The rma-ack signature does not match its user.',
    })
  await storeCall(() => config.store.addAck(ack))
}

function invalidPath(method: string): MeterError {
  return new MeterError({
    status: 400,
    type: 'invalid_request_error',
    code: 'rma_invalid_path',
    message: `Invalid URL (${method}): the path has encoded slashes, backslashes, dots or \`;\` parameters.`,
  })
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
