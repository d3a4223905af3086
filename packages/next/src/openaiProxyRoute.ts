import { createOpenAIProxy, type Meter, type OpenAIProxyOptions } from '@rma/meter'
import type { RouteHandler } from './RouteHandler.js'
import { withRmaMeter } from './withRmaMeter.js'

/**
 * An App Router route handler that meters each call and forwards it to an OpenAI- or
 * Anthropic-compatible upstream with the provider's key (`createOpenAIProxy` of `@rma/meter`).
 * Mount it on a catch-all route so every path under `/v1` goes through the meter.
 *
 * @example
 * // app/v1/[...path]/route.ts
 * export const runtime = 'nodejs'
 * export const POST = openaiProxyRoute(meter, { upstream: 'https://api.openai.com/v1', apiKey: process.env.OPENAI_API_KEY })
 */
export function openaiProxyRoute(meter: Meter, options: OpenAIProxyOptions): RouteHandler {
  return withRmaMeter(meter, createOpenAIProxy(options))
}
