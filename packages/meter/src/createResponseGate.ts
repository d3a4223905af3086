import { Buffer } from 'node:buffer'
import { createFrameBoundaryScanner } from '@rma/core'
import { MeterError } from './errors.js'
import type { ResponseHooks, StreamEndReason } from './ResponseHooks.js'

/** Headers an error that replaces a held body must not keep (they described the body). */
const replacedBodyHeaders = ['content-length', 'content-encoding', 'etag'] as const

/** What to deliver of a held (non-stream) body once the meter settled it. */
export type BodyDelivery =
  /** The body as the handler wrote it, with the receipt headers added. */
  | { kind: 'deliver'; body: Buffer; headers: Record<string, string> }
  /**
   * An error instead of the body (fail closed): its status and OpenAI-shaped JSON, with
   * `removeHeaders` dropped from the handler's headers and `headers` set.
   */
  | {
      kind: 'replace'
      status: number
      body: Buffer
      headers: Record<string, string>
      removeHeaders: readonly string[]
    }

/** What the adapter does with one chunk of an event stream the handler wrote. */
export type StreamStep = {
  /** Whole frames to forward now, if any. */
  forward?: Buffer
  /** The chunk carried the stream's terminator: call `endStream('complete')`, send nothing more. */
  complete?: boolean
}

/**
 * The metering of a response's bytes, the same for every adapter (Express's `observeResponse`,
 * the web stream of `meter.fetch`): the adapter feeds what the handler writes, and forwards
 * what the gate gives back.
 */
export type ResponseGate = {
  /** The response's content type decides: an event stream is metered frame by frame. */
  modeOf(contentType: string | null | undefined): 'stream' | 'body'
  /** An event stream starts (its headers are about to leave, with `rma-receipt-id`). */
  startStream(): void
  /**
   * Bytes of the stream: forwarded as soon as each frame is whole (a client cannot use part of
   * one), up to the frame that completes the stream, which is held until the receipt is
   * stored. Bytes after the end are dropped; bytes after the client left are observed (a
   * draining handler still finishes its usage) but not forwarded.
   */
  streamBytes(chunk: Buffer): StreamStep
  /**
   * The stream is over (`complete` at its terminator, `ended` when the handler ended it, with
   * the error it ended with if any): resolves, once the receipt is settled, with the bytes to
   * write last (the held frame and the inline receipt, or an SSE error); none once the client left.
   */
  endStream(reason: StreamEndReason, error?: MeterError): Promise<Buffer[]>
  /** The stream's end is being settled or was: later bytes are dropped. */
  readonly streamEnded: boolean
  /** A chunk of a non-stream body: held until `endBody`. */
  holdBody(chunk: Buffer): void
  /** The handler ended a non-stream body: resolves with what to deliver once its receipt is settled. */
  endBody(status: number): Promise<BodyDelivery>
  /** The client left before the response was complete. */
  clientGone(): void
}

/**
 * The gate of one metered response over the meter's hooks (`meter.admit(...).hooks`). No body
 * and no stream terminator passes without a durable receipt: a body whose receipt cannot be
 * stored is replaced by an error, a stream ends with an SSE error event instead of `[DONE]`.
 *
 * @example
 * const gate = createResponseGate(admitted.hooks)
 * const step = gate.streamBytes(chunk)
 * if (step.forward) write(step.forward)
 * if (step.complete) for (const bytes of await gate.endStream('complete')) write(bytes)
 */
export function createResponseGate(hooks: ResponseHooks): ResponseGate {
  let finishing = false
  let gone = false
  /** A held body, or the frame of a stream that carried its terminator. */
  const held: Buffer[] = []
  /** Bytes of a stream frame not yet whole. */
  let tail: Buffer[] = []
  const scanner = createFrameBoundaryScanner()

  return {
    modeOf: (contentType) =>
      String(contentType ?? '').includes('text/event-stream') ? 'stream' : 'body',
    startStream() {
      hooks.onStreamStart()
    },
    streamBytes(bytes) {
      if (finishing) return {}
      const complete = hooks.onStreamBytes(bytes)
      const end = scanner.push(bytes)
      if (complete) {
        tail.push(bytes)
        finishing = true
        return { complete: true }
      }
      if (gone || end === -1) {
        if (!gone) tail.push(bytes)
        return {}
      }
      const whole =
        tail.length === 0
          ? bytes.subarray(0, end)
          : Buffer.concat([...tail, bytes.subarray(0, end)])
      tail = end < bytes.length ? [bytes.subarray(end)] : []
      return { forward: whole }
    },
    async endStream(reason, error) {
      finishing = true
      held.push(...tail.splice(0))
      const out: Buffer[] = []
      try {
        const { release, append } = await hooks.onStreamEnd(reason, error)
        if (gone) return []
        if (release) out.push(...held)
        if (append) out.push(append)
      } catch {}
      return out
    },
    get streamEnded() {
      return finishing
    },
    holdBody(chunk) {
      held.push(chunk)
    },
    async endBody(status) {
      const body = Buffer.concat(held)
      const ending = await hooks
        .onBodyEnd(body, status)
        // The hooks settle every failure themselves; anything else must not deliver the body.
        .catch((error: unknown) => ({ error: internalError(error), headers: undefined }))
      if (!ending.error) return { kind: 'deliver', body, headers: ending.headers ?? {} }
      return {
        kind: 'replace',
        status: ending.error.status,
        body: Buffer.from(JSON.stringify(ending.error.toJSON())),
        headers: { 'content-type': 'application/json; charset=utf-8' },
        removeHeaders: replacedBodyHeaders,
      }
    },
    clientGone() {
      if (gone) return
      gone = true
      hooks.onClientGone()
    },
  }
}

function internalError(cause: unknown): MeterError {
  return new MeterError({
    status: 500,
    type: 'server_error',
    code: 'rma_internal_error',
    message: 'The meter failed to settle this call; its response is withheld.',
    cause,
  })
}
