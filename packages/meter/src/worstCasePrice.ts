import { type Endpoint, type ModelPrice, priceTokens } from '@rma/core'
import { MeterError } from './errors.js'

export type WorstCasePriceParameters = {
  endpoint: Endpoint
  /** The parsed request body. */
  body: Record<string, unknown>
  /** Size of the request body in bytes: the bound on its input tokens. */
  bodyBytes: number
  price: ModelPrice
  /**
   * Output tokens assumed for a request that sets no max-tokens bound (the upstream's own
   * default); `undefined` refuses such requests.
   */
  defaultMaxOutputTokens: number | undefined
}

export type WorstCasePriceReturnType = {
  /** Base units, rounded up. */
  amount: bigint
  inputTokens: number
  outputTokens: number
}

/**
 * The most a call can cost, from its request alone: every byte of the body counted as an input
 * token at the dearest input price (input, cache read or cache write; a token of text is at least one byte, and the JSON around it adds
 * more bytes than the upstream's message framing adds tokens), plus its max output tokens
 * (`max_completion_tokens`, `max_tokens` or `max_output_tokens`, else the default; Anthropic
 * `messages` require their `max_tokens`, no default applies) times the
 * number of choices (`n`, `best_of`) at the higher of the output and reasoning prices. Image
 * inputs are not bounded by their bytes; the receipt's cap still holds for them.
 *
 * Throws {@link MeterError} 400 `rma_max_tokens_required` when the request sets no bound and
 * there is no default, and 400 `rma_invalid_count` when a bound or a choice count is present but
 * not a positive integer.
 *
 * @example
 * worstCasePrice({ endpoint: 'chat', body, bodyBytes: raw.length, price, defaultMaxOutputTokens: 16_384 }).amount
 */
export function worstCasePrice(parameters: WorstCasePriceParameters): WorstCasePriceReturnType {
  const { endpoint, body, bodyBytes, price, defaultMaxOutputTokens } = parameters
  const inputTokens = bodyBytes
  const outputTokens =
    endpoint === 'embeddings' ? 0 : maxOutputTokens(endpoint, body, defaultMaxOutputTokens)
  // The most the output can cost: every output token at the dearer of output and reasoning.
  const reasoningTokens = price.reasoning > price.output ? outputTokens : 0
  // Likewise every input token at the dearest of input, cache read and cache write (a prompt
  // cache write is often dearer than plain input).
  const cacheWriteTokens =
    price.cacheWrite > price.input && price.cacheWrite >= price.cachedInput ? inputTokens : 0
  const cachedInputTokens =
    cacheWriteTokens === 0 && price.cachedInput > price.input ? inputTokens : 0
  const amount = priceTokens(price, {
    inputTokens,
    cachedInputTokens,
    cacheWriteTokens,
    outputTokens,
    reasoningTokens,
  })
  return { amount, inputTokens, outputTokens }
}

function maxOutputTokens(
  endpoint: Exclude<Endpoint, 'embeddings'>,
  body: Record<string, unknown>,
  fallback: number | undefined,
): number {
  const names =
    endpoint === 'chat'
      ? ['max_completion_tokens', 'max_tokens']
      : endpoint === 'completions' || endpoint === 'messages'
        ? ['max_tokens']
        : ['max_output_tokens']
  let bound: number | undefined
  for (const name of names) {
    const value = countOf(body, name)
    if (value !== undefined) {
      bound = value
      break
    }
  }
  // Anthropic requires `max_tokens`: the bound is always the request's own.
  bound ??= endpoint === 'messages' ? undefined : fallback
  if (bound === undefined)
    throw new MeterError({
      status: 400,
      type: 'invalid_request_error',
      code: 'rma_max_tokens_required',
      message: `Set ${names.join(' or ')}: this server prices every call at its most before serving it.`,
    })
  const choices =
    endpoint === 'responses' || endpoint === 'messages'
      ? 1
      : Math.max(countOf(body, 'n') ?? 1, countOf(body, 'best_of') ?? 1)
  return bound * choices
}

/**
 * A count field of the request, or undefined when absent (`null` counts as absent, as OpenAI
 * reads it). Anything but a positive integer is refused: an upstream that coerces the string
 * `"10000000"` would otherwise serve more than was priced.
 */
function countOf(body: Record<string, unknown>, name: string): number | undefined {
  const value = body[name]
  if (value === undefined || value === null) return undefined
  if (isCount(value)) return value
  throw new MeterError({
    status: 400,
    type: 'invalid_request_error',
    code: 'rma_invalid_count',
    message: `\`${name}\` must be a positive integer.`,
  })
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1
}
