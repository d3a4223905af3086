import type { SseEvent } from './createSseParser.js'
import type { Endpoint } from './endpointOf.js'
import { isRecord } from './internal/isRecord.js'
import { parseAnthropicUsage } from './parseAnthropicUsage.js'
import { readResponseUsage } from './readResponseUsage.js'
import type { Usage } from './types.js'

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
  /** The stream's success terminator arrived: `data: [DONE]`, `response.completed` or `message_stop`. */
  done: boolean
  /** The stream reported an error (`error` event or payload, `response.failed`, `response.incomplete`). */
  failed: boolean
  /** Data frames that were not JSON objects or carried malformed usage (ignored otherwise). */
  invalidFrames: number
}

/** Options of {@link createStreamObserver}. */
export type CreateStreamObserverOptions = {
  /** Keep the generated text in `outputText` (default true; the client, which never estimates, turns it off). */
  collectText?: boolean
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

/** Where each Anthropic `content_block_delta` kind carries its generated text. */
const messagesDeltaText: Readonly<Record<string, string>> = {
  text_delta: 'text',
  input_json_delta: 'partial_json',
  thinking_delta: 'thinking',
}

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
 * - Anthropic Messages: `message_start` gives the model and the usage known at the start
 *   (input, cache reads and writes); each `message_delta` usage updates it field by field (its
 *   counts are cumulative; Anthropic sends `output_tokens` there, newer versions the input counts
 *   too); the merged object is read with `parseAnthropicUsage`. Text from `content_block_start`
 *   (tool names) and `content_block_delta` (`text_delta`, `input_json_delta`, `thinking_delta`);
 *   `message_stop` sets `done`; an `error` event sets `failed`; `ping` is ignored.
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
export function createStreamObserver(
  endpoint: Endpoint,
  options: CreateStreamObserverOptions = {},
): StreamObserver {
  const collectText = options.collectText ?? true
  let usage: Usage | undefined
  // Anthropic: the usage fields seen so far, `message_start`'s overwritten by `message_delta`'s.
  let messagesUsage: Record<string, unknown> = {}
  let model: string | undefined
  let outputText = ''
  let done = false
  let failed = false
  let invalidFrames = 0

  function append(text: unknown) {
    if (!collectText || typeof text !== 'string' || text === '') return
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

  function mergeMessagesUsage(reported: unknown) {
    if (reported === undefined || reported === null) return
    if (!isRecord(reported)) {
      invalidFrames++
      return
    }
    const merged = { ...messagesUsage }
    for (const [key, value] of Object.entries(reported))
      if (value !== undefined && value !== null) merged[key] = value
    try {
      usage = parseAnthropicUsage(merged)
      messagesUsage = merged
    } catch {
      invalidFrames++
    }
  }

  function onMessagesEvent(type: string | undefined, payload: Record<string, unknown>) {
    switch (type) {
      case 'message_start': {
        const message = payload.message
        if (!isRecord(message)) return
        if (typeof message.model === 'string' && message.model !== '') model = message.model
        return mergeMessagesUsage(message.usage)
      }
      case 'content_block_start': {
        const block = payload.content_block
        if (!isRecord(block)) return
        append(block.name)
        append(block.text)
        return append(block.thinking)
      }
      case 'content_block_delta': {
        const delta = payload.delta
        if (!isRecord(delta) || typeof delta.type !== 'string') return
        const field = messagesDeltaText[delta.type]
        return field === undefined ? undefined : append(delta[field])
      }
      case 'message_delta':
        return mergeMessagesUsage(payload.usage)
      case 'message_stop':
        done = true
        return
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
      if (endpoint === 'responses' || endpoint === 'messages') {
        const type = typeof payload.type === 'string' ? payload.type : event.event
        if (endpoint === 'messages') {
          if (event.event === 'error') failed = true
          return onMessagesEvent(type, payload)
        }
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
