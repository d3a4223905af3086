import type { MeterError } from './errors.js'

/**
 * Why a stream is over: its success terminator arrived (`complete`), or the handler ended it
 * without one (`ended`: an upstream reset, a timeout, a handler that gave up).
 */
export type StreamEndReason = 'complete' | 'ended'

/** What to do with the end of a stream once the meter has settled it. */
export type StreamEnding = {
  /** Forward the held bytes (the frame that carried the terminator, or an unfinished frame). */
  release: boolean
  /** Bytes to write after them (the inline receipt, or an SSE error event). */
  append?: Buffer
}

/** What to do with a non-stream body once the meter has settled it. */
export type BodyEnding =
  | { headers?: Record<string, string>; error?: undefined }
  /** Deliver this error instead of the body (fail closed: the receipt could not be stored). */
  | { error: MeterError; headers?: undefined }

/** What the meter does at each point of a response's life (`createMeterHooks`). */
export type ResponseHooks = {
  /** The response is an event stream: headers are about to leave. */
  onStreamStart(): void
  /**
   * Bytes of a stream before they are forwarded. True once they carried the stream's
   * terminator (`data: [DONE]`, `response.completed`): that chunk is then held, later bytes are
   * dropped, and `onStreamEnd('complete')` decides what the client gets.
   */
  onStreamBytes(chunk: Buffer): boolean
  /**
   * The stream is over: resolves once its receipt is settled (stored, or refused). `error` is
   * what the handler ended it with (`endStreamWithError`), if anything.
   */
  onStreamEnd(reason: StreamEndReason, error?: MeterError): Promise<StreamEnding>
  /** The handler ended a non-stream response: resolves once its receipt is settled. */
  onBodyEnd(body: Buffer, status: number): Promise<BodyEnding>
  /** The client left before the response was complete. */
  onClientGone(): void
}
