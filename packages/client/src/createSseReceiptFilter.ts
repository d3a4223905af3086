import {
  createBytesHasher,
  createFrameBoundaryScanner,
  createSseParser,
  createStreamObserver,
  type Endpoint,
  type Hex,
  type SseEvent,
  type Usage,
} from '@rma/core'

const LF = 10
const CR = 13
const blankLines = new Uint8Array([LF, LF])
const receiptLines = [
  new TextEncoder().encode('event: rma.receipt'),
  new TextEncoder().encode('event:rma.receipt'),
]

/** The inline receipt frame's payload: `{"object":"rma.receipt","id","hash","receipt"}`. */
export type InlineReceipt = { id: string | undefined; encoded: string }

/** What a filtered stream contained, once it ended. */
export type SseFilterResult = {
  /** Bytes held back since `data: [DONE]`: deliver them after the receipt is checked. */
  held: Uint8Array[]
  /** The inline receipt; `'malformed'` when the frame could not be read; `undefined` when none came. */
  receipt: InlineReceipt | 'malformed' | undefined
  /** keccak256 of every byte except the inline receipt frame. */
  responseHash: Hex
  usage: Usage | undefined
  model: string | undefined
  failed: boolean
}

export type SseReceiptFilter = {
  /** Takes bytes from the network; returns the bytes to deliver now (whole SSE frames). */
  push(chunk: Uint8Array): Uint8Array[]
  /** The stream ended: the held bytes, the receipt and what the stream reported. */
  end(): SseFilterResult
  /** The stream was aborted: hash of every byte received so far, and what it reported. */
  abort(): Pick<SseFilterResult, 'responseHash' | 'usage' | 'model' | 'failed'>
}

/**
 * Removes the meter's inline receipt frame (`event: rma.receipt`, appended after the upstream's
 * last byte) from an SSE stream before the SDK parses it, and keeps every other byte as sent.
 *
 * Bytes are split into frames at blank lines by the meter's own `createFrameBoundaryScanner`
 * (`\n`, `\r\n` or `\r` line ends, frames cut at any byte). A frame holding an `event: rma.receipt` line is held until the stream ends: only the
 * last frame is the meter's receipt (an identical frame from the upstream, followed by more
 * bytes, is delivered as data). From the stream's terminator on (`data: [DONE]`,
 * `response.completed`, Anthropic's `message_stop`), bytes are held too, so an SDK that stops
 * reading there still sees the end of the stream only after the receipt is checked.
 * Every delivered or held byte is hashed (the meter's `responseHash`). Every other frame goes
 * through the meter's own rules from `@rma/core`: `createSseParser` for the events and
 * `createStreamObserver(endpoint)` for usage, model and failure, so the client reads exactly
 * what the meter read.
 *
 * @example
 * const filter = createSseReceiptFilter('chat')
 * for await (const chunk of body) for (const bytes of filter.push(chunk)) controller.enqueue(bytes)
 * const { held, receipt, responseHash, usage } = filter.end()
 */
export function createSseReceiptFilter(endpoint: Endpoint): SseReceiptFilter {
  const hasher = createBytesHasher()
  const observer = createStreamObserver(endpoint, { collectText: false })
  const parser = createSseParser(observer.onEvent)
  const scanner = createFrameBoundaryScanner()
  let parts: Uint8Array[] = []
  let candidate: Uint8Array | undefined
  let holding = false
  const held: Uint8Array[] = []

  const data = (bytes: Uint8Array, out: Uint8Array[]) => {
    if (bytes.length === 0) return
    hasher.update(bytes)
    parser.push(bytes)
    if (observer.result().done) holding = true
    ;(holding ? held : out).push(bytes)
  }
  const reported = () => {
    const { usage, model, failed } = observer.result()
    return { usage, model, failed }
  }

  const frame = (bytes: Uint8Array, out: Uint8Array[]) => {
    if (candidate) {
      data(candidate, out)
      candidate = undefined
    }
    const at = indexOfReceiptLine(bytes)
    if (at === -1) return data(bytes, out)
    data(bytes.subarray(0, at), out)
    candidate = bytes.subarray(at)
  }

  const take = (chunk: Uint8Array, from: number, to: number): Uint8Array => {
    const piece = chunk.subarray(from, to)
    if (parts.length === 0) return piece
    parts.push(piece)
    const joined = concat(parts)
    parts = []
    return joined
  }

  /** The LF of a CRLF whose CR ended the last frame, in the next chunk: it belongs to that frame. */
  const extend = (bytes: Uint8Array, out: Uint8Array[]) => {
    if (candidate) candidate = concat([candidate, bytes])
    else data(bytes, out)
  }

  return {
    push(chunk) {
      const out: Uint8Array[] = []
      let start = 0
      scanner.push(chunk, (end, extension) => {
        const bytes = take(chunk, start, end)
        start = end
        if (extension) extend(bytes, out)
        else frame(bytes, out)
      })
      if (start < chunk.length) parts.push(chunk.subarray(start))
      return out
    },
    end() {
      const out: Uint8Array[] = []
      if (parts.length > 0) frame(concat(parts), out)
      parts = []
      held.unshift(...out)
      parser.end()
      let receipt: SseFilterResult['receipt']
      if (candidate) receipt = readInlineReceipt(candidate)
      candidate = undefined
      return { held, receipt, responseHash: hasher.hex(), ...reported() }
    },
    abort() {
      if (candidate) hasher.update(candidate)
      for (const part of parts) hasher.update(part)
      return { responseHash: hasher.hex(), ...reported() }
    },
  }
}

/** Byte offset of an `event: rma.receipt` line in a frame, or -1. */
function indexOfReceiptLine(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0 && bytes[i - 1] !== LF && bytes[i - 1] !== CR) continue
    if (bytes[i] !== 101 /* e */) continue
    for (const line of receiptLines) {
      const end = i + line.length
      if (end > bytes.length) continue
      let same = true
      for (let k = 0; k < line.length && same; k++) same = bytes[i + k] === line[k]
      if (same && (end === bytes.length || bytes[end] === LF || bytes[end] === CR)) return i
    }
  }
  return -1
}

/** Reads the meter's receipt frame with the shared SSE parser (a missing final blank line is tolerated). */
function readInlineReceipt(bytes: Uint8Array): InlineReceipt | 'malformed' {
  let event: SseEvent | undefined
  const parser = createSseParser((e) => {
    event ??= e
  })
  parser.push(bytes)
  parser.push(blankLines)
  if (!event) return 'malformed'
  let payload: unknown
  try {
    payload = JSON.parse(event.data)
  } catch {
    return 'malformed'
  }
  if (typeof payload !== 'object' || payload === null) return 'malformed'
  const { object, id, receipt } = payload as Record<string, unknown>
  if (object !== 'rma.receipt' || typeof receipt !== 'string') return 'malformed'
  return { id: typeof id === 'string' ? id : undefined, encoded: receipt }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
