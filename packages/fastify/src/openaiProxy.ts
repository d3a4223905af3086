import { createOpenAIProxy, type Meter, type OpenAIProxyOptions } from '@rma/meter'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { meteredHandler } from './meteredHandler.js'

/**
 * A Fastify route handler that meters each call and forwards it to an OpenAI- or
 * Anthropic-compatible upstream with the provider's key (`createOpenAIProxy` of `@rma/meter`).
 *
 * @example
 * fastify.post('/v1/*', openaiProxy(meter, { upstream: 'https://api.openai.com/v1', apiKey }))
 */
export function openaiProxy(
  meter: Meter,
  options: OpenAIProxyOptions,
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  return meteredHandler(meter, createOpenAIProxy(options))
}
