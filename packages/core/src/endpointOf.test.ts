import { describe, expect, test } from 'vitest'
import { endpointOf } from './endpointOf.js'

describe('endpointOf', () => {
  test.each([
    ['/v1/chat/completions', 'chat'],
    ['/v1/completions', 'completions'],
    ['/v1/responses', 'responses'],
    ['/v1/embeddings', 'embeddings'],
    ['/chat/completions', 'chat'],
    ['/completions', 'completions'],
    ['/responses', 'responses'],
    ['/embeddings', 'embeddings'],
    ['chat/completions', 'chat'],
    ['/openai/v1/chat/completions', 'chat'],
    ['/api/openai/v1/embeddings', 'embeddings'],
    ['/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21', 'chat'],
    ['/v1/chat/completions/', 'chat'],
    ['/v1/responses//', 'responses'],
    ['/v1/completions?stream=true', 'completions'],
    ['/v1/embeddings#top', 'embeddings'],
    ['/v1/responses/?a=/v1/chat/completions', 'responses'],
    ['/v1/Responses', 'responses'],
    ['/v1/CHAT/COMPLETIONS', 'chat'],
    ['/v1/chat/%63ompletions', 'chat'],
    ['/v1/chat/completions/.', 'chat'],
    ['/v1/x/../chat/completions', 'chat'],
    ['/v1/messages', 'messages'],
    ['/anthropic/v1/messages', 'messages'],
    ['/v1/Messages/', 'messages'],
  ] as const)('%s → %s', (path, endpoint) => {
    expect(endpointOf(path)).toBe(endpoint)
  })

  test.each([
    '',
    '/',
    '/v1',
    '/v1/models',
    '/v1/responses/resp_123',
    '/v1/chat/completions/chatcmpl-1/messages',
    '/v1/chat',
    '/v1/mycompletions',
    '/v1/chatcompletions',
    '/v1/images/generations',
    '/v1/chat%2Fcompletions',
    '/v1/chat\\completions',
    '/v1/chat/completions;x',
    '/v1/models?path=/v1/chat/completions',
    '/messages',
    '/v1/threads/thread_abc/messages',
    '/v1/messages/count_tokens',
    '/v1/messages/batches',
  ])('%j → undefined', (path) => {
    expect(endpointOf(path)).toBeUndefined()
  })
})
