import { describe, expect, test } from 'vitest'
import { meteredEndpointOf } from './meteredEndpointOf.js'

describe('meteredEndpointOf', () => {
  test.each([
    ['POST', '/v1/chat/completions', 'chat'],
    ['post', '/openai/deployments/x/chat/completions/', 'chat'],
    ['POST', '/v1/responses', 'responses'],
    ['POST', '/v1/embeddings', 'embeddings'],
    ['POST', '/v1/completions', 'completions'],
    ['POST', '/v1/messages', 'messages'],
    ['POST', '/v1/CHAT/%63ompletions', 'chat'],
    ['GET', '/v1/chat/completions', undefined],
    ['GET', '/v1/responses/resp_1', undefined],
    ['POST', '/v1/responses/resp_1/cancel', undefined],
    ['POST', '/v1/audio/transcriptions', undefined],
    ['POST', '/v1/messages/count_tokens', undefined],
  ] as const)('%s %s → %s', (method, path, endpoint) => {
    expect(meteredEndpointOf(method, path)).toBe(endpoint)
  })
})
