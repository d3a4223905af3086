import { randomInt } from 'node:crypto'
import { BaseError, type Endpoint, type Usage } from '@rma/core'
import { isRecord } from './isRecord.js'

/** What an estimate is made from: the parsed request body and the text the model produced. */
export type EstimateUsageParameters = {
  endpoint: Endpoint
  /** The parsed JSON request body (any shape; unknown parts count as nothing). */
  request: unknown
  /** The generated text seen (see `createStreamObserver`), or `''`. */
  outputText: string
}

/**
 * Chat formatting overhead, as in OpenAI's token-counting guide for gpt-4o-era models: each
 * message costs 3 tokens besides its content (1 more with a `name`), and the reply is primed
 * with 3. The Responses API counts the same way per input message and for `instructions`.
 */
const tokensPerMessage = 3
const tokensPerName = 1
const replyPrimingTokens = 3
/**
 * An image part's tokens are not knowable without fetching it; 85 is the smallest charge for
 * an image (gpt-4o, `detail: low`), so an estimate never undercounts less than it must.
 */
const tokensPerImage = 85

// Text that spells a special token (`<|endoftext|>`) is ordinary text in a request: count it.
const asText = { disallowedSpecial: new Set<string>() }

type CountTokens = (text: string, options: typeof asText) => number
let countTokens: CountTokens | undefined
let loading: Promise<void> | undefined

/**
 * Loads the o200k_base tokenizer (about 200 ms and 100 MB, so only when estimates may be
 * needed). The meter starts loading it when created and awaits it before estimating.
 *
 * @example
 * await loadTokenizer()
 * estimateUsage({ endpoint: 'chat', request, outputText })
 */
export function loadTokenizer(): Promise<void> {
  loading ??= import('gpt-tokenizer/encoding/o200k_base').then((module) => {
    countTokens = module.countTokens as CountTokens
  })
  return loading
}

/**
 * How many UTF-16 code units one estimate tokenises exactly (request and output together):
 * 256 Ki, a few milliseconds of the event loop. The tokenizer runs at about 13 MB/s, so an
 * unbounded count of an 8 MiB prompt would block every other call for over half a second.
 *
 * @example
 * if (prompt.length > exactEstimateBudget) // the rest is extrapolated
 */
export const exactEstimateBudget = 256 * 1024

/** The window a text beyond the budget is sampled in. */
const sampleWindow = 2 * 1024

/** A text's tokens: exact within the budget, sampled beyond it. */
function createCounter() {
  let budget = exactEstimateBudget
  return (text: unknown): number => {
    if (typeof text !== 'string' || text === '') return 0
    if (!countTokens)
      throw new BaseError('The tokenizer is not loaded.', {
        code: 'TOKENIZER_NOT_LOADED',
        details: 'Await loadTokenizer() before estimateUsage().',
      })
    try {
      if (text.length <= budget) {
        budget -= text.length
        return countTokens(text, asText)
      }
      // Beyond the budget: the density of windows at random places (a sender cannot know
      // which parts are counted, so no part of the text can hide from the estimate), or 1
      // token per 4 characters when no budget is left for even one window.
      const windows = Math.floor(budget / sampleWindow)
      budget -= windows * sampleWindow
      if (windows === 0) return Math.ceil(text.length / 4)
      let sampled = 0
      // One window at a random place in each of `windows` equal strata: unpredictable, and
      // every part of the text is represented in proportion.
      const stratum = text.length / windows
      for (let i = 0; i < windows; i++) {
        const from = Math.floor(i * stratum)
        const room = Math.max(1, Math.floor(stratum) - sampleWindow + 1)
        const start = Math.min(from + randomInt(0, room), text.length - sampleWindow)
        sampled += countTokens(text.slice(start, start + sampleWindow), asText)
      }
      return Math.ceil((text.length * sampled) / (windows * sampleWindow))
    } catch {
      // Never expected; a rough 4 characters per token beats failing the receipt.
      return Math.ceil(text.length / 4)
    }
  }
}

let tokens: ReturnType<typeof createCounter> = createCounter()

/** A non-negative safe integer, else `undefined`. */
function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined
}

/**
 * The most output tokens a request can be billed for: the per-choice limit
 * (`max_completion_tokens ?? max_tokens` for Chat Completions and Completions,
 * `max_output_tokens` for the Responses API) times the number of generated choices (`n`, and for
 * legacy Completions `best_of`, which is billed too). `undefined` when the request sets no limit
 * (or for Embeddings, which produce no output tokens).
 *
 * @example
 * maxOutputTokens('chat', { max_completion_tokens: 100, n: 2 }) // 200
 * maxOutputTokens('responses', { input: 'Hi' }) // undefined
 */
export function maxOutputTokens(endpoint: Endpoint, request: unknown): number | undefined {
  if (!isRecord(request)) return undefined
  let perChoice: number | undefined
  let choices = 1
  switch (endpoint) {
    case 'chat':
    case 'completions':
      perChoice = count(request.max_completion_tokens) ?? count(request.max_tokens)
      choices = Math.max(1, count(request.n) ?? 1)
      if (endpoint === 'completions') choices = Math.max(choices, count(request.best_of) ?? 1)
      break
    case 'responses':
      perChoice = count(request.max_output_tokens)
      break
    case 'messages':
      perChoice = count(request.max_tokens)
      break
    case 'embeddings':
      return undefined
  }
  if (perChoice === undefined) return undefined
  const total = perChoice * choices
  return Number.isSafeInteger(total) ? total : Number.MAX_SAFE_INTEGER
}

/**
 * Estimates the usage of a call whose response reported none (a stream without usage, an
 * aborted stream, an OpenAI-compatible server that omits it), counting with the `o200k_base`
 * encoding of gpt-4o and later models.
 *
 * Input tokens: Chat `messages` (string content, text parts, tool calls, names; 85 tokens per
 * image part, the smallest image charge; 3 tokens per message and 3 to prime the reply, as in
 * OpenAI's token-counting guide) plus the `tools` definitions; Completions `prompt` (and `suffix`);
 * Responses `input` (a string, or message, function-call and function-call-output items) plus
 * `instructions` and `tools`; Embeddings `input` (strings, or token arrays counted by length);
 * Anthropic Messages like Chat plus `system` (tools with their `input_schema`).
 *
 * Output tokens: the tokens of `outputText`, capped at {@link maxOutputTokens} (an aborted
 * stream cannot be billed beyond what the request allowed); 0 for Embeddings. Cached and
 * reasoning tokens are 0: neither is visible in the traffic. Never throws.
 *
 * Bounded work: at most {@link exactEstimateBudget} code units are tokenised (output first);
 * a text beyond what is left is counted at the token density of 2 Ki-character windows taken
 * at random places in it (one per equal stratum), so an estimate of a huge prompt takes milliseconds, not the event
 * loop, and is unbiased whatever the text mixes.
 *
 * @example
 * estimateUsage({
 *   endpoint: 'chat',
 *   request: { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 5 },
 *   outputText: 'Hello! How can I help you today?',
 * })
 * // { inputTokens: 8, cachedInputTokens: 0, outputTokens: 5, reasoningTokens: 0 }
 */
export function estimateUsage({ endpoint, request, outputText }: EstimateUsageParameters): Usage {
  tokens = createCounter()
  const body = isRecord(request) ? request : {}
  let inputTokens = 0
  let outputTokens = 0
  // Output first: it is priced higher, so it gets the exact part of the budget.
  if (endpoint !== 'embeddings') {
    outputTokens = tokens(outputText)
    const cap = maxOutputTokens(endpoint, body)
    if (cap !== undefined && outputTokens > cap) outputTokens = cap
  }
  switch (endpoint) {
    case 'chat':
      inputTokens = chatInputTokens(body)
      break
    case 'completions':
      inputTokens = promptTokens(body.prompt) + tokens(body.suffix)
      break
    case 'responses':
      inputTokens = responsesInputTokens(body)
      break
    case 'embeddings':
      inputTokens = promptTokens(body.input)
      break
    case 'messages':
      inputTokens = chatInputTokens(body) + contentTokens(body.system)
      break
  }
  return { inputTokens, cachedInputTokens: 0, outputTokens, reasoningTokens: 0 }
}

function chatInputTokens(body: Record<string, unknown>): number {
  if (!Array.isArray(body.messages)) return 0
  let total = replyPrimingTokens + toolsTokens(body.tools) + toolsTokens(body.functions)
  for (const message of body.messages) {
    if (!isRecord(message)) continue
    total += tokensPerMessage + contentTokens(message.content) + tokens(message.refusal)
    if (typeof message.name === 'string') total += tokensPerName + tokens(message.name)
    total += callTokens(message.function_call)
    if (Array.isArray(message.tool_calls))
      for (const call of message.tool_calls) if (isRecord(call)) total += callTokens(call.function)
  }
  return total
}

function responsesInputTokens(body: Record<string, unknown>): number {
  let total = toolsTokens(body.tools)
  if (typeof body.instructions === 'string') total += tokensPerMessage + tokens(body.instructions)
  const input = body.input
  if (typeof input === 'string') total += tokensPerMessage + tokens(input)
  else if (Array.isArray(input))
    for (const item of input) {
      if (typeof item === 'string') total += tokens(item)
      if (!isRecord(item)) continue
      if (item.role !== undefined || item.type === 'message') total += tokensPerMessage
      total += contentTokens(item.content) + callTokens(item) + contentTokens(item.output)
    }
  else return total
  return total + replyPrimingTokens
}

/** A message's content: a string, or parts of which text (and images, at a floor) count. */
function contentTokens(content: unknown): number {
  if (typeof content === 'string') return tokens(content)
  if (!Array.isArray(content)) return 0
  let total = 0
  for (const part of content) {
    if (typeof part === 'string') total += tokens(part)
    else if (isRecord(part)) {
      if (typeof part.text === 'string') total += tokens(part.text)
      else if (part.type === 'image_url' || part.type === 'input_image') total += tokensPerImage
    }
  }
  return total
}

/** A function call's name and arguments (Chat `function`, Responses `function_call` item). */
function callTokens(call: unknown): number {
  if (!isRecord(call)) return 0
  return tokens(call.name) + tokens(call.arguments)
}

/** Function tool definitions: name, description and the JSON of the parameters schema. */
function toolsTokens(tools: unknown): number {
  if (!Array.isArray(tools)) return 0
  let total = 0
  for (const tool of tools) {
    if (!isRecord(tool)) continue
    const fn = isRecord(tool.function) ? tool.function : tool
    total += tokens(fn.name) + tokens(fn.description)
    if (fn.parameters !== undefined) total += tokens(json(fn.parameters))
    if (fn.input_schema !== undefined) total += tokens(json(fn.input_schema))
  }
  return total
}

/** A prompt or embeddings input: a string, strings, a token array, or token arrays. */
function promptTokens(prompt: unknown): number {
  if (typeof prompt === 'string') return tokens(prompt)
  if (!Array.isArray(prompt)) return 0
  let total = 0
  for (const item of prompt) {
    if (typeof item === 'string') total += tokens(item)
    else if (typeof item === 'number') total += 1
    else if (Array.isArray(item)) total += item.length
  }
  return total
}

function json(value: unknown): string | undefined {
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}
