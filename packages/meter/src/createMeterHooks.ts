import {
  createBytesHasher,
  createSseParser,
  createStreamObserver,
  encodeReceipt,
  hashBytes,
  readResponseUsage,
  type StoredReceipt,
  type StreamObservation,
  type Usage,
  type UsageSource,
} from '@rma/core'
import type { EventEmitter } from 'eventemitter3'
import type { MeterMetrics } from './createMeterMetrics.js'
import { MeterError } from './errors.js'
import { issueReceipt } from './issueReceipt.js'
import type { MeterEvents } from './MeterEvents.js'
import { outputTextOf } from './outputTextOf.js'
import type { BodyEnding, ResponseHooks, StreamEnding, StreamEndReason } from './ResponseHooks.js'
import type { RmaRequestContext } from './RmaRequestContext.js'
import type { MeterConfig } from './resolveMeterConfig.js'
import { sseErrorFrame } from './sse/sseErrorFrame.js'
import { estimateUsage, loadTokenizer } from './usage/estimateUsage.js'

/** How a stream was settled: its receipt, a refusal to store one, or nothing to charge. */
type Settled =
  | { kind: 'stored'; stored: StoredReceipt }
  | { kind: 'unstored' }
  | { kind: 'uncharged' }

/**
 * The meter's side of one metered call (see `observeResponse`): watches what the handler
 * writes, and settles the call's receipt before anything that completes the call reaches the
 * client. No body and no stream terminator is delivered without a durable receipt: a JSON body
 * whose receipt cannot be stored is replaced by a 503, a stream ends with an SSE error instead
 * of `[DONE]`.
 *
 * @example
 * observeResponse(res, context.id, createMeterHooks(config, context, events, metrics))
 */
export function createMeterHooks(
  config: MeterConfig,
  context: RmaRequestContext,
  events: EventEmitter<MeterEvents>,
  metrics: MeterMetrics,
): ResponseHooks {
  const { endpoint, id } = context
  const observer = createStreamObserver(endpoint)
  const parser = createSseParser(observer.onEvent)
  const hasher = createBytesHasher()
  let settled: Promise<Settled> | undefined
  /**
   * Prepaid: the call's reservation ends once its receipt is stored (before the receipt is
   * delivered, so the user's next call finds it released), or once it has none.
   */
  const release = (): Promise<void> | undefined =>
    context.prepaid
      ?.release()
      .catch((error: unknown) => void events.emit('error', asError(error), { id }))

  const issue = (
    usage: Usage,
    usageSource: UsageSource,
    model: string,
    responseHash: `0x${string}`,
  ): Promise<Settled> =>
    issueReceipt({ config, context, usage, usageSource, model, responseHash })
      .finally(release)
      .then(
        (stored): Settled => {
          metrics.requests.inc({ endpoint, outcome: 'metered' })
          metrics.receipts.inc({ source: usageSource })
          metrics.tokens.inc({ kind: 'input' }, usage.inputTokens)
          metrics.tokens.inc({ kind: 'cached_input' }, usage.cachedInputTokens)
          metrics.tokens.inc({ kind: 'output' }, usage.outputTokens)
          metrics.tokens.inc({ kind: 'reasoning' }, usage.reasoningTokens)
          metrics.revenue.inc(Number(stored.receipt.amount))
          metrics.duration.observe({ endpoint }, (performance.now() - context.startedAt) / 1000)
          events.emit('receipt', { stored, endpoint, capped: stored.capped })
          return { kind: 'stored', stored }
        },
        (error: unknown): Settled => {
          metrics.requests.inc({ endpoint, outcome: 'unstored' })
          events.emit('error', asError(error), { id })
          config.logger.error?.('rma: receipt not stored, response withheld', { id })
          return { kind: 'unstored' }
        },
      )

  const uncharged = (outcome: string): Settled => {
    void release()
    metrics.requests.inc({ endpoint, outcome })
    return { kind: 'uncharged' }
  }

  const estimate = async (reason: 'missing-usage' | 'client-aborted', outputText: string) => {
    await loadTokenizer()
    const usage = estimateUsage({ endpoint, request: context.body, outputText })
    events.emit('estimate', { id, reason, usage })
    return usage
  }

  /**
   * A stream's receipt, once: at its terminator, when the handler ends it, or when the client
   * leaves first (unless the handler drains the upstream).
   */
  const settleStream = (reason: StreamEndReason | 'client-gone' | 'failed') => {
    settled ??= (async (): Promise<Settled> => {
      parser.end()
      const seen = observer.result()
      if (seen.failed || reason === 'failed') return uncharged('failed')
      const reported = context.upstreamUsage?.usage ?? seen.usage
      const model = context.upstreamUsage?.model ?? seen.model ?? requestedModel(context)
      const responseHash = hasher.hex()
      if (reason === 'complete') {
        const usage = reported ?? (await estimate('missing-usage', seen.outputText))
        return issue(usage, reported ? 'reported' : 'estimated', model, responseHash)
      }
      // A server that reports usage but sends no terminator still completed the call.
      if (reason === 'ended')
        return reported ? issue(reported, 'reported', model, responseHash) : uncharged('incomplete')
      if (!delivered(seen)) return uncharged('undelivered')
      const usage = reported ?? (await estimate('client-aborted', seen.outputText))
      return issue(usage, 'partial', model, responseHash)
    })()
    return settled
  }

  const inlineFrame = (stored: StoredReceipt) => {
    const frame = {
      object: 'rma.receipt',
      id,
      hash: stored.hash,
      receipt: encodeReceipt(stored.receipt),
    }
    return Buffer.from(`event: rma.receipt\ndata: ${JSON.stringify(frame)}\n\n`)
  }

  return {
    onStreamStart() {},
    onStreamBytes(chunk) {
      hasher.update(chunk)
      parser.push(chunk)
      return observer.result().done
    },
    async onStreamEnd(reason, error): Promise<StreamEnding> {
      // A handler that ended the stream with an error delivered an incomplete answer.
      const result = await settleStream(error ? 'failed' : reason)
      const seen = observer.result()
      if (result.kind === 'stored')
        return { release: true, append: context.inline ? inlineFrame(result.stored) : undefined }
      if (result.kind === 'unstored') return { release: false, append: sseErrorFrame(unstored()) }
      // The upstream's own error event already told the client; anything else was cut short.
      if (seen.failed && !error) return { release: true }
      return { release: false, append: sseErrorFrame(error ?? incomplete()) }
    },
    async onBodyEnd(body, status): Promise<BodyEnding> {
      if (status >= 400) {
        void release()
        metrics.requests.inc({ endpoint, outcome: 'failed' })
        return {}
      }
      let json: unknown
      try {
        json = JSON.parse(body.toString('utf8'))
      } catch {
        const error = new MeterError({
          status: 502,
          type: 'upstream_error',
          code: 'rma_unmetered_body',
          message: 'A metered route answered with a body that is not JSON; it cannot be metered.',
        })
        void release()
        metrics.requests.inc({ endpoint, outcome: 'failed' })
        events.emit('error', error, { id })
        return { error }
      }
      const read = readResponseUsage(endpoint, json)
      const usage = read.usage ?? (await estimate('missing-usage', outputTextOf(endpoint, json)))
      const result = await issue(
        usage,
        read.usage ? 'reported' : 'estimated',
        read.model ?? requestedModel(context),
        hashBytes(body),
      )
      if (result.kind !== 'stored') return { error: unstored() }
      return {
        headers: { 'rma-receipt': encodeReceipt(result.stored.receipt), 'rma-receipt-id': id },
      }
    },
    onClientGone() {
      if (context.stream && !context.draining) void settleStream('client-gone')
    },
  }
}

/**
 * Whether a stream gave the client anything of the model's answer. A call cut before its first
 * generated text (the upstream never answered, or the client left first) is not charged.
 */
function delivered(seen: StreamObservation): boolean {
  return seen.outputText !== '' || seen.usage !== undefined || seen.done
}

function unstored(): MeterError {
  return new MeterError({
    status: 503,
    type: 'server_error',
    code: 'rma_store_unavailable',
    message:
      'The receipt of this call could not be stored, so its response is withheld. Retry later.',
  })
}

function incomplete(): MeterError {
  return new MeterError({
    status: 502,
    type: 'upstream_error',
    code: 'rma_stream_incomplete',
    message:
      'The stream ended before it completed (the upstream failed or stopped); it was not charged.',
  })
}

function requestedModel(context: RmaRequestContext): string {
  return typeof context.fields.model === 'string' ? context.fields.model : ''
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
