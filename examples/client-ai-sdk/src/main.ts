/**
 * The AI SDK app as a process:
 *   pnpm --filter @rma/example-client-ai-sdk start ["prompt"]              (OpenAI Chat Completions shape)
 *   pnpm --filter @rma/example-client-ai-sdk start -- --anthropic ["prompt"] (a provider serving /v1/messages)
 * Configuration comes from the environment, as for examples/client-openai; keys are never printed.
 */
import { clientConfigFromEnv, formatReceipt } from '@rma/example-client-openai'
import { generateText, streamText } from 'ai'
import { createRmaProviders } from './createRmaProviders.js'

const args = process.argv.slice(2).filter((a) => a !== '--')
const useAnthropic = args.includes('--anthropic')
const prompt = args.find((a) => !a.startsWith('--')) ?? 'What is a usage receipt?'
try {
  const {
    model,
    provider,
    throwawayKey: _,
    providerURL: __,
    ...options
  } = await clientConfigFromEnv(process.env)
  const { rmaFetch, openai, anthropic } = createRmaProviders(options)
  rmaFetch.rma.events.on('receipt', (record) => console.log(`[ai-sdk] ${formatReceipt(record)}`))
  // maxRetries: 0, so that a refused receipt is not retried as a second paid call;
  // maxOutputTokens bounds the worst case the meter prices against maxAmountPerCall.
  const settings = {
    model: useAnthropic ? anthropic(model) : openai.chat(model),
    prompt,
    maxOutputTokens: 512,
    maxRetries: 0,
  }
  const generated = await generateText(settings)
  console.log(`[ai-sdk] generateText: ${generated.text}`)
  const streamed = streamText(settings)
  let text = ''
  for await (const delta of streamed.textStream) text += delta
  console.log(`[ai-sdk] streamText: ${text}`)
  await rmaFetch.rma.settled()
  const { all } = rmaFetch.rma.ledger.totals()
  console.log(
    `[ai-sdk] ${all.calls} calls, ${all.inputTokens} in / ${all.outputTokens} out tokens, spent ${all.amount} base units`,
  )
  provider?.destroy()
} catch (error) {
  // A refused receipt arrives as the AI SDK's APICallError, caused by the typed ReceiptError.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined
  console.error(
    `[ai-sdk] ${error instanceof Error ? error.message : error}${cause ? `: ${cause.message}` : ''}`,
  )
  process.exitCode = 1
}
