import type { Usage } from '@rma/core'
import type { SseEvent } from '../sse/createSseParser.js'
import type { Endpoint } from './endpointOf.js'
import { isRecord } from './isRecord.js'
import { readResponseUsage } from './readResponseUsage.js'

/** What a streamed response said about itself, so far. */
export type StreamObservation = {
  /** The last well-formed usage the stream reported. */
  usage: Usage | undefined
  /** The model the stream names (the served snapshot). */
  model: string | undefined
  /**
   * The generated text, for estimating output tokens when no usage arrives: content, refusals,
   * tool-call names and arguments, and reasoning text when the server streams it. At most
   * {@link maxObservedTextLength} UTF-16 code units are kept.
   */
  outputText: string
  /** The stream's success terminator arrived: `data: [DONE]` or `response.completed`. */
  done: boolean
  /** The stream reported an error (`error` event or payload, `response.failed`, `response.incomplete`). */
  failed: boolean
  /** Data frames that were not JSON objects or carried malformed usage (ignored otherwise). */
  invalidFrames: number
}

/** Collects a {@link StreamObservation} from the events of one streamed response. */
export type StreamObserver = {
  onEvent(event: SseEvent): void
  result(): StreamObservation
}

/**
 * How much output text an observer keeps: 4 Mi UTF-16 code units (about a million tokens),
 * beyond any output token cap, so memory per stream stays bounded.
 *
 * @example
 * if (observation.outputText.length === maxObservedTextLength) metrics.truncatedStreams.inc()
 */
export const maxObservedTextLength = 4 * 1024 * 1024

const responsesTextDeltas = new Set([
  'response.output_text.delta',
  'response.refusal.delta',
  'response.function_call_arguments.delta',
  'response.custom_tool_call_input.delta',
  'response.reasoning_summary_text.delta',
  'response.reasoning_text.delta',
])

/**
 * Watches the SSE events of a streamed response (fed by `createSseParser`) for its usage,
 * model and generated text:
 * - Chat Completions chunks: `model`; text from `choices[].delta` (`content`, `refusal`,
 *   `tool_calls[].function.name` and `.arguments`, and the `reasoning_content` / `reasoning`
 *   some OpenAI-compatible servers stream); `usage` from any chunk where it is not null
 *   (the include_usage chunk has `choices: []`); `data: [DONE]` sets `done`.
 * - Legacy Completions: `choices[].text` and `usage` likewise.
 * - Responses API: text from the `*.delta` events and function-call names from
 *   `response.output_item.added`; `response.created` gives the model; `response.completed` gives
 *   usage and model and sets `done`; `response.incomplete` and `response.failed` set `failed`
 *   and still give their usage; an `error` event sets `failed`.
 *
 * The event type is the payload's `type`, else the SSE `event:` field. Frames that are not JSON
 * objects count in `invalidFrames`; the observer never throws.
 *
 * @example
 * const observer = createStreamObserver('chat')
 * const parser = createSseParser(observer.onEvent)
 * upstream.on('data', (chunk: Buffer) => parser.push(chunk))
 * upstream.on('end', () => {
 *   parser.end()
 *   const { usage, model, outputText, done } = observer.result()
 * })
 */
export function createStreamObserver(endpoint: Endpoint): StreamObserver {
  let usage: Usage | undefined
  let model: string | undefined
  let outputText = ''
  let done = false
  let failed = false
  let invalidFrames = 0

  function append(text: unknown) {
    if (typeof text !== 'string' || text === '') return
    const room = maxObservedTextLength - outputText.length
    if (room <= 0) return
    outputText += text.length > room ? text.slice(0, room) : text
  }

  /** Takes usage and model from a body that may carry them (a chunk, a Response object). */
  function read(body: unknown) {
    const found = readResponseUsage(endpoint, body)
    if (found.model !== undefined) model = found.model
    if (found.usage !== undefined) usage = found.usage
    if (found.error !== undefined) invalidFrames++
  }

  function onChunk(chunk: Record<string, unknown>) {
    const error = chunk.error
    if ((error !== undefined && error !== null) || chunk.object === 'error') failed = true
    read(chunk)
    if (!Array.isArray(chunk.choices)) return
    for (const choice of chunk.choices) {
      if (!isRecord(choice)) continue
      append(choice.text)
      const delta = choice.delta
      if (!isRecord(delta)) continue
      append(delta.content)
      append(delta.refusal)
      append(delta.reasoning_content)
      append(delta.reasoning)
      if (isRecord(delta.function_call)) {
        append(delta.function_call.name)
        append(delta.function_call.arguments)
      }
      if (!Array.isArray(delta.tool_calls)) continue
      for (const call of delta.tool_calls)
        if (isRecord(call) && isRecord(call.function)) {
          append(call.function.name)
          append(call.function.arguments)
        }
    }
  }

  function onResponsesEvent(type: string | undefined, payload: Record<string, unknown>) {
    if (type !== undefined && responsesTextDeltas.has(type)) return append(payload.delta)
    switch (type) {
      case 'response.output_item.added': {
        const item = payload.item
        if (isRecord(item) && item.type === 'function_call') append(item.name)
        return
      }
      case 'response.created':
      case 'response.queued':
      case 'response.in_progress':
        return read(payload.response)
      case 'response.completed':
        done = true
        return read(payload.response)
      case 'response.incomplete':
      case 'response.failed':
        failed = true
        return read(payload.response)
      case 'error':
        failed = true
        return
    }
  }

  return {
    onEvent(event) {
      if (event.data === '[DONE]') {
        done = true
        return
      }
      let payload: unknown
      try {
        payload = JSON.parse(event.data)
      } catch {
        invalidFrames++
        return
      }
      if (!isRecord(payload)) {
        invalidFrames++
        return
      }
      if (endpoint === 'responses') {
        const type = typeof payload.type === 'string' ? payload.type : event.event
        return onResponsesEvent(type, payload)
      }
      if (event.event === 'error') failed = true
      onChunk(payload)
    },
    result() {
      return { usage, model, outputText, done, failed, invalidFrames }
    },
  }
}
