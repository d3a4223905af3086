import { randomUUID } from 'node:crypto'
import {
  type Address,
  BaseError,
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
import { authenticate } from './authenticate.js'
import type { LargeBodyBudget, LargeBodyTicket } from './createLargeBodyBudget.js'
import { createMeteredCall } from './createMeteredCall.js'
import type { PrepaidCoverage } from './createPrepaidCoverage.js'
import { MeterError } from './errors.js'
import type { IncomingCall } from './IncomingCall.js'
import type { LargeBodyProcessor } from './LargeBodyProcessor.js'
import type { RmaRequestContext } from './RmaRequestContext.js'
import { type RequestFields, requestFields } from './requestFields.js'
import type { MeterConfig } from './resolveMeterConfig.js'
import { storeCall } from './storeCall.js'
import { worstCasePrice } from './worstCasePrice.js'

export type AdmitCallParameters = {
  config: MeterConfig
  incoming: IncomingCall
  endpoint: Endpoint
  budget: LargeBodyBudget | undefined
  processLarge: LargeBodyProcessor | undefined
  coverage: PrepaidCoverage | undefined
  /** A large body was admitted: its ticket, to release once its response is over. */
  onTicket: (ticket: LargeBodyTicket) => void
}

/**
 * Admits a paid call, cheapest check first, so a refused request costs the least it can: the
 * headers (attestation signature, asset, expiry) before a byte of the body; the body read
 * under the size and time limits and hashed while it arrives; the hash, JSON and price; the
 * ack; the prepaid reservation; only then the nonce, claimed in the store's register, so
 * refused calls never fill it. Refusals are {@link MeterError}s.
 *
 * @example
 * const call = await admitCall({ config, incoming, endpoint, budget, processLarge, coverage, onTicket })
 */
export async function admitCall(parameters: AdmitCallParameters): Promise<RmaRequestContext> {
  const { config, incoming, endpoint, budget, processLarge, coverage } = parameters
  const startedAt = performance.now()
  const now = config.now()
  const { user, maxAmount, attestation } = await authenticate({
    req: incoming.headers,
    request: incoming.request,
    assetId: config.assetId,
    domain: config.domain,
    identify: config.identify,
    now,
    maxAttestationTtl: config.maxAttestationTtl,
    clockSkew: config.clockSkew,
  })
  let ticket: LargeBodyTicket | undefined
  const read = await incoming.readBody({
    limit: config.maxBodyBytes,
    timeoutMs: config.bodyTimeoutMs,
    largeBytes: config.largeBodyBytes,
    admitLarge:
      budget &&
      (() => {
        const admitted = budget.admit()
        if ('ticket' in admitted) {
          ticket = admitted.ticket
          return parameters.onTicket(ticket)
        }
        throw new MeterError({
          status: 429,
          type: 'rate_limit_error',
          code: 'rma_busy',
          message: `The server is busy with large request bodies (over ${config.largeBodyBytes} bytes); retry after ${admitted.retryAfterSeconds} s.`,
          details: 'Smaller requests are served meanwhile.',
          headers: { 'retry-after': String(admitted.retryAfterSeconds) },
        })
      }),
    onBusy: (ms) => ticket?.charge(ms),
    // With a processor, a large body is hashed and parsed there, not on the server thread.
    skipLargeHash: processLarge !== undefined,
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
  // (an app's own handler reading the body; never the proxy).
  let body: () => Record<string, unknown>
  if (requestHash === undefined && processLarge) {
    // A client that left while its body arrived gets nothing more done for it.
    if (incoming.clientGone()) throw clientGoneError()
    const processed = await processLarge(rawBody)
    ticket?.charge(processed.busyMs)
    rawBody = processed.raw
    requestHash = processed.hash
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
  await acceptAck(config, incoming.headers.get('rma-ack') ?? undefined)
  // Nothing is claimed (nor forwarded, nor charged) for a client that already left.
  if (incoming.clientGone()) throw clientGoneError()
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
    user: user.toLowerCase() as Address,
    requestHash,
    rawBody,
    body,
    fields,
    stream: fields.stream === true,
    inline: incoming.headers.get('rma-receipt') === 'inline',
    maxAmount,
    attestationDigest: attestation ? hashAttestation(attestation, config.domain) : zeroHash,
    startedAt,
    prepaid,
  })
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
async function acceptAck(config: MeterConfig, header: string | undefined): Promise<void> {
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
