import { createOpenAIProxy, type OpenAIProxyOptions } from '@rma/meter'
import type { Handler } from 'hono'
import type { RmaEnv } from './RmaEnv.js'

/**
 * Hono handler forwarding the call {@link rmaMeter} admitted to an OpenAI- or
 * Anthropic-compatible upstream with the provider's key (`createOpenAIProxy` of `@rma/meter`).
 * Without the meter in front it refuses to spend the key.
 *
 * @example
 * app.post('/v1/*', openaiProxy({ upstream: 'https://api.openai.com/v1', apiKey: process.env.OPENAI_API_KEY }))
 */
export function openaiProxy(options: OpenAIProxyOptions): Handler<RmaEnv> {
  const proxy = createOpenAIProxy(options)
  return function openaiProxyHandler(c) {
    return proxy(c.req.raw, c.get('rma'))
  }
}
