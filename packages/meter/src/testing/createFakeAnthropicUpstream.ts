import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createPriceTable } from '@rma/core'
import {
  anthropicCachedMessage,
  anthropicCachedRawUsage,
  anthropicCachedStream,
  anthropicModel,
} from '@rma/core/testing'

/** What the fake Anthropic API received and how to stop it. */
export type FakeAnthropicUpstream = {
  /** Base URL without a version: the Messages API is at `${url}/v1/messages`. */
  url: string
  /** Each request: its headers and parsed body. */
  requests: { headers: IncomingMessage['headers']; body: Record<string, unknown> }[]
  close(): Promise<void>
}

/** The model the fake answers as (a dated snapshot, as the API reports). */
export const fakeAnthropicModel = anthropicModel

/**
 * The usage the fake bills every call with, as Anthropic reports it: 3 uncached input tokens,
 * 2,044 written to the prompt cache, 1,000 read from it, 89 output tokens.
 */
export const fakeAnthropicUsage = anthropicCachedRawUsage

/** Claude Sonnet 4.5 list prices in 6-decimal base units per 1M tokens (writes 1.25x, reads 0.1x). */
export const fakeAnthropicPrices = createPriceTable({
  models: {
    'claude-sonnet-4-5': {
      input: 3_000_000n,
      cachedInput: 300_000n,
      cacheWrite: 3_750_000n,
      output: 15_000_000n,
    },
  },
})

/** What the fake bills, in the receipt's OpenAI semantics (cache reads and writes inside input). */
export const fakeAnthropicBilled = {
  inputTokens:
    fakeAnthropicUsage.input_tokens +
    fakeAnthropicUsage.cache_read_input_tokens +
    fakeAnthropicUsage.cache_creation_input_tokens,
  cachedInputTokens: fakeAnthropicUsage.cache_read_input_tokens,
  cacheWriteTokens: fakeAnthropicUsage.cache_creation_input_tokens,
  outputTokens: fakeAnthropicUsage.output_tokens,
  reasoningTokens: 0,
}

/** The JSON body of a non-streamed answer, as the Messages API returns it (a fresh copy). */
export function fakeAnthropicMessage(): Record<string, unknown> {
  return structuredClone(anthropicCachedMessage)
}

/**
 * The bytes of a streamed answer exactly as the Messages API sends them: `message_start` with
 * the input counts (and `output_tokens: 1`), a text block, a `ping` (with its space), a tool-use
 * block with `input_json_delta`, `message_delta` with the cumulative usage, `message_stop`
 * (`anthropicCachedStream` of `@rma/core/testing`, the golden stream of the usage rules).
 */
export function fakeAnthropicStream(): string {
  return anthropicCachedStream
}

/**
 * A fake Anthropic Messages API on 127.0.0.1: `POST /v1/messages` with `x-api-key:
 * sk-upstream` and an `anthropic-version` header answers {@link fakeAnthropicMessage} or, with
 * `stream: true`, {@link fakeAnthropicStream} (written in two pieces per frame, cut mid-frame);
 * a wrong key gets Anthropic's 401 error body.
 *
 * @example
 * const upstream = await createFakeAnthropicUpstream()
 * app.post('/v1/*path', openaiProxy({ upstream: `${upstream.url}/v1`, apiKey: 'sk-upstream' }))
 */
export async function createFakeAnthropicUpstream(): Promise<FakeAnthropicUpstream> {
  const requests: FakeAnthropicUpstream['requests'] = []
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    let body: Record<string, unknown> = {}
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    } catch {}
    requests.push({ headers: req.headers, body })
    if (req.method !== 'POST' || req.url !== '/v1/messages') {
      res.writeHead(404, { 'content-type': 'application/json' })
      return res.end(
        '{"type":"error","error":{"type":"not_found_error","message":"Not found"},"request_id":"req_404"}',
      )
    }
    if (req.headers['x-api-key'] !== 'sk-upstream' || !req.headers['anthropic-version']) {
      res.writeHead(401, { 'content-type': 'application/json', 'request-id': 'req_401' })
      return res.end(
        '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_401"}',
      )
    }
    if (body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_json' })
      return res.end(JSON.stringify(fakeAnthropicMessage()))
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': 'req_stream',
    })
    for (const part of fakeAnthropicStream().split(/(?<=\n\n)/)) {
      const cut = Math.max(1, Math.floor(part.length / 3))
      res.write(part.slice(0, cut))
      res.write(part.slice(cut))
      await new Promise((resolve) => setImmediate(resolve))
    }
    res.end()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
