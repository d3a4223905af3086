import type { RmaClient } from './createRmaEngine.js'
import { createRmaFetch } from './createRmaFetch.js'
import type { RmaClientOptions } from './resolveClientConfig.js'

/**
 * What `withRMA` needs of a client: a `baseURL` and the Stainless `withOptions({ fetch })` that
 * `openai` v6 and v7 and `@anthropic-ai/sdk` share. (Named after the first SDK it served; any
 * client of that shape is accepted.)
 */
export type OpenAILike = {
  baseURL: string
  withOptions(options: { fetch: typeof fetch }): unknown
}

export type WithRMAOptions = RmaClientOptions

/**
 * Wraps an OpenAI client (`openai`) or an Anthropic client (`@anthropic-ai/sdk`) so that every
 * metered call is attested by the API user's key and its usage receipt is checked,
 * countersigned and kept in a ledger. The result is a client of the same type
 * (`client.withOptions({ fetch })` with an attesting fetch), so every endpoint, every helper and
 * the SDK's own objects work unchanged: `.withResponse()`, `.asResponse()`, streams with
 * `tee()`, `toReadableStream()` and `controller`, Anthropic's `messages.stream()` and its
 * `finalMessage()`. The original client is not modified.
 *
 * Both SDKs go through the same engine: the response's usage is read by the meter's own rule
 * (`readResponseUsage` / `createStreamObserver` of `@rma/core`, by endpoint), so an Anthropic
 * receipt's `inputTokens` includes the cache reads and writes Anthropic reports beside
 * `input_tokens`, with `cachedInputTokens` and `cacheWriteTokens` as its parts.
 *
 * The RMA side is on the non-enumerable `client.rma` (also `getRMA(client)`, which works on
 * clients derived with `client.withOptions()` too).
 *
 * With `onMismatch: 'throw'` (default) a JSON call whose receipt fails a check rejects with the
 * `ReceiptError` (not an `APIConnectionError`, and never retried), and a stream fails with it at
 * its end; with `'event'` the call succeeds and `client.rma.events` emits `mismatch`.
 *
 * @example
 * const client = withRMA(new OpenAI({ baseURL: 'https://provider.example/v1', apiKey: 'unused' }), {
 *   signer: wallet, assetId, chainId: 8453, settlementContract, meters: [meterAddress],
 *   maxAmountPerCall: 50_000n,
 * })
 * const { data, response } = await client.chat.completions.create({ model, messages }).withResponse()
 * const { receipt } = await getReceipt(response)
 * client.rma.events.on('mismatch', (error) => alert(error.code))
 *
 * @example
 * const claude = withRMA(new Anthropic({ baseURL: 'https://provider.example', apiKey: 'unused' }), options)
 * const message = await claude.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages })
 * await claude.rma.settled()
 * claude.rma.ledger.totals().all.amount
 */
export function withRMA<client extends OpenAILike>(
  openai: client,
  options: WithRMAOptions,
): client & { readonly rma: RmaClient } {
  // The client's own fetch (a private field of the SDK) carries its transport settings.
  const own = (openai as unknown as { fetch?: typeof fetch }).fetch
  const rmaFetch = createRmaFetch(
    { ...options, fetch: options.fetch ?? own },
    { defaultURL: openai.baseURL },
  )
  const wrapped = openai.withOptions({ fetch: rmaFetch }) as client
  Object.defineProperty(wrapped, 'rma', { value: rmaFetch.rma, enumerable: false })
  return wrapped as client & { readonly rma: RmaClient }
}
