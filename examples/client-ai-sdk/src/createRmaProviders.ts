import { createAnthropic } from '@ai-sdk/anthropic'
import { createOpenAI } from '@ai-sdk/openai'
import { createRmaFetch, type RmaClientOptions, type RmaFetch } from '@rma/client'

export type CreateRmaProvidersParameters = RmaClientOptions & {
  /** The provider's base URL with its `/v1`: `http://127.0.0.1:8787/v1`. */
  baseURL: string
}

export type CreateRmaProvidersReturnType = {
  /** The attesting fetch both providers use; its ledger and events on `rmaFetch.rma`. */
  rmaFetch: RmaFetch
  /** `@ai-sdk/openai` on the provider: `openai.chat(model)` (Chat Completions), `openai(model)` (Responses). */
  openai: ReturnType<typeof createOpenAI>
  /** `@ai-sdk/anthropic` on the provider, for a provider that serves Anthropic's `/v1/messages`. */
  anthropic: ReturnType<typeof createAnthropic>
}

/**
 * The Vercel AI SDK recipe: the AI SDK's providers take a `fetch`, so both are given one RMA
 * fetch. Every call is then attested with the API user's key, and its receipt checked and kept
 * in `rmaFetch.rma.ledger`. No provider API key is needed: the attestation identifies the user.
 *
 * @example
 * const { rmaFetch, openai } = createRmaProviders({ baseURL, signer, assetId, chainId, settlementContract, meters, maxAmountPerCall: 100_000n })
 * const { text } = await generateText({ model: openai.chat('rma-stand-in-1'), prompt: 'Hi', maxRetries: 0 })
 * await rmaFetch.rma.settled()
 */
export function createRmaProviders(
  parameters: CreateRmaProvidersParameters,
): CreateRmaProvidersReturnType {
  const { baseURL, ...options } = parameters
  const rmaFetch = createRmaFetch(options)
  return {
    rmaFetch,
    openai: createOpenAI({ baseURL, apiKey: 'unused', fetch: rmaFetch }),
    anthropic: createAnthropic({ baseURL, apiKey: 'unused', fetch: rmaFetch }),
  }
}
