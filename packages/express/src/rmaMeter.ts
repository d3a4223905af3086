import { randomUUID } from 'node:crypto'
import {
  BaseError,
  decodeAck,
  hashBytes,
  resolveModelPrice,
  type StoredReceipt,
  UnknownModelError,
  type Usage,
  verifyAck,
} from '@rma/core'
import { EventEmitter } from 'eventemitter3'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { authenticate } from './authenticate.js'
import { createMeterHooks } from './createMeterHooks.js'
import { createMeterMetrics, type MeterMetrics } from './createMeterMetrics.js'
import { ensureStoreWritable } from './ensureStoreWritable.js'
import { MeterError } from './errors.js'
import { observeResponse } from './observeResponse.js'
import { readRawBody } from './readRawBody.js'
import { type MeterConfig, type RmaMeterOptions, resolveMeterConfig } from './resolveMeterConfig.js'
import { sendError } from './sendError.js'
import type { RmaRequestContext } from './types.js'
import type { Endpoint } from './usage/endpointOf.js'
import { loadTokenizer } from './usage/estimateUsage.js'

export type MeterEvents = {
  /** A receipt was signed and stored (before it is delivered). */
  receipt: (event: { stored: StoredReceipt; endpoint: Endpoint; capped: boolean }) => void
  /** Usage had to be estimated: the upstream reported none, or the client left early. */
  estimate: (event: {
    id: string
    reason: 'missing-usage' | 'client-aborted'
    usage: Usage
  }) => void
  /** Something failed after the request was accepted (the response itself may still succeed). */
  error: (error: Error, context: { id?: string }) => void
}

/** The middleware, with its resolved config, events and metrics. */
export type RmaMeter = RequestHandler & {
  readonly config: MeterConfig
  readonly events: EventEmitter<MeterEvents>
  readonly metrics: MeterMetrics
}

/**
 * Meters OpenAI-compatible calls: every paid call gets a usage receipt, priced with the
 * price table, signed by the meter key as the next link of the (meter, user) chain, stored
 * durably, then delivered: `rma-receipt` + `rma-receipt-id` headers on JSON responses, and on
 * event streams `rma-receipt-id` plus, when the client sent `rma-receipt: inline`, a final
 * `event: rma.receipt` frame. Stream bytes are forwarded as written, unbuffered.
 *
 * Mount it before any body parser, in front of `openaiProxy()` or the app's own handlers.
 * Bad input (no or invalid attestation, unpriced model, bad JSON) is answered in OpenAI's
 * error shape and never reaches the handler; failed calls (status >= 400) get no receipt.
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

  async function rmaMeterMiddleware(req: Request, res: Response, next: NextFunction) {
    const endpoint = config.route(req.path, req.method)
    if (!endpoint) return next()
    let context: RmaRequestContext
    try {
      context = await begin(config, req, endpoint)
    } catch (error) {
      metrics.requests.inc({ endpoint, outcome: 'rejected' })
      if (error instanceof MeterError) return sendError(res, error)
      return next(error)
    }
    req.rma = context
    observeResponse(res, context.id, createMeterHooks(config, context, events, metrics))
    if (!(await ensureStoreWritable(config.store, res))) return
    next()
  }

  return Object.assign(rmaMeterMiddleware, { config, events, metrics })
}

async function begin(
  config: MeterConfig,
  req: Request,
  endpoint: Endpoint,
): Promise<RmaRequestContext> {
  const startedAt = performance.now()
  const rawBody = await readRawBody(req, config.maxBodyBytes)
  const body = parseBody(rawBody)
  req.body = body
  const requestHash = hashBytes(rawBody)
  const now = config.now()
  const { user, maxAmount } = await authenticate({
    req,
    requestHash,
    assetId: config.assetId,
    domain: config.domain,
    nonceCache: config.nonceCache,
    identify: config.identify,
    now,
    maxAttestationTtl: config.maxAttestationTtl,
    clockSkew: config.clockSkew,
  })
  const model = typeof body.model === 'string' ? body.model : ''
  if (config.unknownModel === 'reject') {
    try {
      resolveModelPrice(config.prices, model, now)
    } catch (error) {
      if (!(error instanceof UnknownModelError)) throw error
      throw new MeterError({
        status: 400,
        type: 'invalid_request_error',
        code: 'rma_model_not_priced',
        message: `Model "${model}" has no price on this server.`,
      })
    }
  }
  await acceptAck(config, req)
  return {
    id: randomUUID(),
    endpoint,
    user: user.toLowerCase() as `0x${string}`,
    requestHash,
    rawBody,
    body,
    stream: body.stream === true,
    inline: req.get('rma-receipt') === 'inline',
    maxAmount,
    startedAt,
  }
}

function parseBody(raw: Buffer): Record<string, unknown> {
  let body: unknown
  try {
    body = JSON.parse(raw.toString('utf8'))
  } catch {
    body = undefined
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new MeterError({
      status: 400,
      type: 'invalid_request_error',
      code: 'rma_invalid_json',
      message: 'The request body must be a JSON object.',
    })
  return body as Record<string, unknown>
}

/** An `rma-ack` header countersigns an earlier receipt; a bad one is rejected, not ignored. */
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
  await config.store.addAck(ack)
}
