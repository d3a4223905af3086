import Anthropic from '@anthropic-ai/sdk'
import { createRmaFetch, getReceipt, type RmaClientOptions, withRMA } from '@rma/client'
import {
  type Address,
  decodeAttestation,
  decodeReceipt,
  encodeAck,
  encodeAttestation,
  hashAttestation,
  hashBytes,
  signAck,
  type Usage,
} from '@rma/core'
import {
  assetId,
  attestWith,
  chainId,
  fakeAnthropicBilled,
  fakeAnthropicModel,
  fakeUsage,
  settlementContract,
} from '@rma/meter/testing'
import { Wallet } from 'ethers'
import OpenAI from 'openai'
import { expect } from 'vitest'
import type { ConformanceCase } from './ConformanceCase.js'
import { type BreakableStore, createBreakableStore } from './createBreakableStore.js'
import { expectReceipt } from './expectReceipt.js'
import { expectRefused } from './expectRefused.js'
import { openCall } from './openCall.js'
import { type CallAnswer, postCall } from './postCall.js'
import type { ConformanceContext, StartedServer } from './startConformance.js'
import { upstreamBytes } from './upstreamBytes.js'

const newUser = () => Wallet.createRandom() as unknown as Wallet

/** What the fake OpenAI upstream bills every chat, completion and Responses call. */
const openaiUsage: Required<Usage> = {
  inputTokens: fakeUsage.input,
  cachedInputTokens: fakeUsage.cached,
  cacheWriteTokens: 0,
  outputTokens: fakeUsage.output,
  reasoningTokens: fakeUsage.reasoning,
}

const chat = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Hi' }],
    max_tokens: 256,
    ...extra,
  })

const claude = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 1024,
    system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: 'Hello' }],
    ...extra,
  })

const tools = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } } },
    },
  },
]

const anthropicHeaders = { 'anthropic-version': '2023-06-01' }

/** Receipts stored for `user` by the OpenAI-side server. */
const storedFor = (context: ConformanceContext, user: Wallet) =>
  context.openai.store.listByUser({ user: user.address as Address })

/**
 * A metered call answered 200: delivered byte for byte as the upstream sent it, with a receipt
 * for exactly the billed usage (header for JSON, stored under `rma-receipt-id` for streams).
 */
async function expectMetered(
  context: ConformanceContext,
  call: {
    side?: 'openai' | 'anthropic'
    path: string
    body: string
    usage: Required<Usage>
    stream?: boolean
    headers?: Record<string, string>
  },
) {
  const side = context[call.side ?? 'openai']
  const user = newUser()
  const forwarded = side.upstream.requests.length
  const answer = await postCall({
    url: side.url,
    path: call.path,
    body: call.body,
    user,
    ...(call.headers ? { headers: call.headers } : {}),
  })
  expect(answer.status).toBe(200)
  expect(side.upstream.requests.length).toBe(forwarded + 1)
  const id = answer.headers.get('rma-receipt-id')
  const receipt = call.stream
    ? (await side.store.get(id ?? ''))!.receipt
    : decodeReceipt(answer.headers.get('rma-receipt'))
  await expectReceipt({
    receipt,
    id,
    store: side.store,
    domain: context.domain,
    prices: side.prices,
    user,
    requestedModel: JSON.parse(call.body).model,
    usage: call.usage,
    delivered: answer.bytes,
  })
  expect(receipt.requestHash).toBe(hashBytes(call.body))
  // Byte identity: the delivered body is the upstream's own answer to the same request.
  expect(Buffer.from(answer.bytes).toString('utf8')).toBe(
    Buffer.from(await upstreamBytes(side.upstream.url, call.path, call.body)).toString('utf8'),
  )
  return { answer, receipt, user }
}

/** A refused call: OpenAI-shaped error, nothing forwarded upstream, nothing stored for the user. */
async function expectNothingGiven(
  context: ConformanceContext,
  user: Wallet,
  send: () => Promise<CallAnswer>,
  expected: { status?: number; code?: string } = {},
) {
  const forwarded = context.openai.upstream.requests.length
  const answer = await send()
  expectRefused(answer, expected)
  expect(context.openai.upstream.requests.length).toBe(forwarded)
  expect(await storedFor(context, user)).toEqual([])
  return answer
}

/**
 * Not served: refused by the meter, or by the framework before the application (its router's
 * 404 for a path it does not route, its HTTP layer's 400 for a target it cannot parse): no
 * receipt, no upstream content, no stack trace. The meter's own refusals are pinned in OpenAI's
 * shape by the other attacks.
 */
function expectNotServed(answer: CallAnswer, path: string) {
  expect(answer.status, path).toBeGreaterThanOrEqual(400)
  expect(answer.headers.get('rma-receipt'), path).toBeNull()
  expect(answer.text, path).not.toContain('chatcmpl')
  expect(answer.text, path).not.toMatch(/at .*\.(ts|js):\d+/)
}

/** Waits (bounded) until the server stored `count` receipts for `user`. */
async function storedEventually(context: ConformanceContext, user: Wallet, count: number) {
  for (let i = 0; i < 500; i++) {
    const stored = await storedFor(context, user)
    if (stored.length >= count) return stored
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return storedFor(context, user)
}

/**
 * One call (an inline-receipt stream when `stream`) to a new server of the adapter whose SQLite
 * store fails as `failure` says: the answer, how many calls reached the upstream, and what the
 * store holds for the caller once it works again.
 */
async function callOnBrokenStore(
  context: ConformanceContext,
  failure: Partial<BreakableStore['state']>,
  stream = false,
) {
  const store = createBreakableStore(context.sqliteStore())
  const server = await context.start({ store })
  const user = newUser()
  Object.assign(store.state, failure)
  const from = context.openai.upstream.requests.length
  const answer = await postCall({
    url: server.url,
    path: '/v1/chat/completions',
    body: chat(stream ? { stream } : {}),
    user,
    headers: stream ? { 'rma-receipt': 'inline' } : {},
  })
  const forwarded = context.openai.upstream.requests.length - from
  Object.assign(store.state, { writable: true, appends: true })
  return { answer, forwarded, stored: await store.listByUser({ user: user.address as Address }) }
}

const bypassPaths = [
  '/v1//chat/completions',
  '/v1/chat%2Fcompletions',
  '/V1/chat/completions',
  '/v1/CHAT/COMPLETIONS',
  '/v1/x/../chat/completions',
  '/v1/%2e%2e/v1/chat/completions',
  '/v1/chat/completions/..',
  '/v1/chat/%63ompletions',
  '/v1/chat\\completions',
  '/v1/images/generations',
]

/** `@rma/client` options trusting `meter`'s receipts, checked against the servers' prices. */
const clientOptions = (server: StartedServer, user: Wallet): RmaClientOptions => ({
  signer: user,
  assetId,
  chainId,
  settlementContract,
  meters: [server.meter],
  maxAmountPerCall: 10n ** 9n,
  prices: server.prices,
})

const allMatched = { usage: 'matched', response: 'matched', price: 'matched' }

/**
 * The metering cases every adapter passes: each meters one call through the adapter's real
 * server and checks the answer, the receipt (verified with @rma/core, priced exactly) and the
 * store; each attack checks nothing was forwarded or stored.
 */
export const cases: ConformanceCase[] = [
  {
    name: 'chat JSON: the upstream body byte for byte, a verified receipt header for the billed usage, stored',
    async run(context) {
      const user = newUser()
      const body = chat()
      const attestation = await attestWith(user, { body })
      const answer = await postCall({
        url: context.openai.url,
        path: '/v1/chat/completions',
        body,
        attestation,
      })
      expect(answer.status).toBe(200)
      const receipt = decodeReceipt(answer.headers.get('rma-receipt'))
      await expectReceipt({
        receipt,
        id: answer.headers.get('rma-receipt-id'),
        store: context.openai.store,
        domain: context.domain,
        prices: context.openai.prices,
        user,
        requestedModel: 'gpt-4o-mini',
        usage: openaiUsage,
        delivered: answer.bytes,
      })
      // 176 uncached at 0.15, 1,024 cached at 0.075, 48 out at 0.60 per 1M (reasoning ⊆ output).
      expect(receipt.amount).toBe(132n)
      expect(receipt.attestation).toBe(
        hashAttestation(decodeAttestation(attestation), context.domain),
      )
      expect(receipt.requestHash).toBe(hashBytes(body))
      expect(answer.bytes).toEqual(
        await upstreamBytes(context.openai.upstream.url, '/v1/chat/completions', body),
      )
      // The provider's key went upstream with the caller's body; the caller's key never did.
      const sent = context.openai.upstream.requests.at(-2)
      expect(sent?.headers.authorization).toBe('Bearer sk-upstream')
      expect(sent?.body).toEqual(JSON.parse(body))
    },
  },
  {
    name: 'completions JSON',
    async run(context) {
      await expectMetered(context, {
        path: '/v1/completions',
        body: JSON.stringify({ model: 'gpt-4o-mini', prompt: 'Say hi', max_tokens: 16 }),
        usage: openaiUsage,
      })
    },
  },
  {
    name: 'Responses API JSON',
    async run(context) {
      await expectMetered(context, {
        path: '/v1/responses',
        body: JSON.stringify({ model: 'gpt-4o-mini', input: 'Hi', max_output_tokens: 256 }),
        usage: openaiUsage,
      })
    },
  },
  {
    name: 'Responses API stream: every event as sent, receipt stored before response.completed',
    async run(context) {
      const { answer } = await expectMetered(context, {
        path: '/v1/responses',
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          input: 'Hi',
          max_output_tokens: 256,
          stream: true,
        }),
        usage: openaiUsage,
        stream: true,
      })
      expect(answer.text).toContain('event: response.completed')
    },
  },
  {
    name: 'embeddings',
    async run(context) {
      await expectMetered(context, {
        path: '/v1/embeddings',
        body: JSON.stringify({ model: 'text-embedding-3-small', input: 'Hi' }),
        usage: { ...openaiUsage, cachedInputTokens: 0, outputTokens: 0, reasoningTokens: 0 },
      })
    },
  },
  {
    name: 'chat stream with include_usage: the usage chunk delivered, the receipt stored before [DONE]',
    async run(context) {
      const { answer } = await expectMetered(context, {
        path: '/v1/chat/completions',
        body: chat({ stream: true, stream_options: { include_usage: true } }),
        usage: openaiUsage,
        stream: true,
      })
      expect(answer.text).toContain('"choices":[],"usage":{')
      expect(answer.text.endsWith('data: [DONE]\n\n')).toBe(true)
    },
  },
  {
    name: 'chat stream without include_usage: usage asked upstream and removed, the stream as the client asked it',
    async run(context) {
      const { answer } = await expectMetered(context, {
        path: '/v1/chat/completions',
        body: chat({ stream: true }),
        usage: openaiUsage,
        stream: true,
      })
      expect(answer.text).not.toContain('usage')
      // The meter's request upstream asked for usage (the one before the byte-identity call).
      const sent = context.openai.upstream.requests.at(-2)
      expect(sent?.body.stream_options).toEqual({ include_usage: true })
    },
  },
  {
    name: 'chat stream, rma-receipt: inline: the upstream bytes, then the receipt frame',
    async run(context) {
      const user = newUser()
      const body = chat({ stream: true })
      const answer = await postCall({
        url: context.openai.url,
        path: '/v1/chat/completions',
        body,
        user,
        headers: { 'rma-receipt': 'inline' },
      })
      expect(answer.status).toBe(200)
      const id = answer.headers.get('rma-receipt-id')
      const [stream, frame] = answer.text.split('event: rma.receipt\n')
      expect(stream).toBe(
        Buffer.from(
          await upstreamBytes(context.openai.upstream.url, '/v1/chat/completions', body),
        ).toString('utf8'),
      )
      expect(frame?.startsWith('data: ')).toBe(true)
      expect(frame?.endsWith('\n\n')).toBe(true)
      const inline = JSON.parse(frame!.slice(6)) as { object: string; id: string; receipt: string }
      expect(inline.object).toBe('rma.receipt')
      expect(inline.id).toBe(id)
      const receipt = decodeReceipt(inline.receipt)
      await expectReceipt({
        receipt,
        id,
        store: context.openai.store,
        domain: context.domain,
        prices: context.openai.prices,
        user,
        requestedModel: 'gpt-4o-mini',
        usage: openaiUsage,
        delivered: Buffer.from(stream!),
      })
    },
  },
  {
    name: 'the /rma routes serve the stored receipt by call id and by hash, and the health of the store',
    async run(context) {
      const user = newUser()
      const answer = await postCall({
        url: context.openai.url,
        path: '/v1/chat/completions',
        body: chat({ stream: true }),
        user,
      })
      const id = answer.headers.get('rma-receipt-id')
      const stored = await context.openai.store.get(id ?? '')
      expect(stored).toBeDefined()
      for (const key of [id, stored!.hash]) {
        const served = await fetch(`${context.openai.url}/rma/receipts/${key}`)
        expect(served.status).toBe(200)
        const json = (await served.json()) as { id: string; encoded: string }
        expect(json.id).toBe(id)
        expect(decodeReceipt(json.encoded)).toEqual(stored!.receipt)
      }
      const health = await fetch(`${context.openai.url}/rma/health`)
      expect(health.status).toBe(200)
      expect(await health.json()).toMatchObject({ ok: true, meter: context.openai.meter })
    },
  },
  {
    name: "POST /rma/acks records the user's ack of its receipt (JSON body); attack: an ack signed by another key is refused and not recorded",
    async run(context) {
      const user = newUser()
      const answer = await postCall({
        url: context.openai.url,
        path: '/v1/chat/completions',
        body: chat(),
        user,
      })
      const stored = (await context.openai.store.get(answer.headers.get('rma-receipt-id') ?? ''))!
      const ack = {
        assetId,
        user: user.address as Address,
        meter: context.openai.meter,
        seq: stored.receipt.seq,
        receiptHash: stored.hash,
        cumulativeAmount: stored.receipt.cumulativeAmount,
      }
      const chain = { assetId, meter: context.openai.meter, user: user.address as Address }
      const sendAck = (signed: Awaited<ReturnType<typeof signAck>>) =>
        fetch(`${context.openai.url}/rma/acks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ack: encodeAck(signed) }),
        })
      // The attacker signs the user's ack with its own key (signAck signs only its own user's).
      const attacker = newUser()
      const attackerSigned = await signAck({
        ack: { ...ack, user: attacker.address as Address },
        signer: attacker,
        domain: context.domain,
      })
      const forged = await sendAck({ ...attackerSigned, user: ack.user })
      expect(forged.status).toBe(401)
      expect(await forged.json()).toMatchObject({ error: { code: 'rma_ack_invalid' } })
      expect(await context.openai.store.latestAck(chain)).toBeUndefined()
      const accepted = await sendAck(await signAck({ ack, signer: user, domain: context.domain }))
      expect(accepted.status).toBe(201)
      expect((await context.openai.store.latestAck(chain))?.receiptHash).toBe(stored.hash)
    },
  },
  {
    name: 'the terminator arrives only once the receipt is durable',
    async run(context) {
      const user = newUser()
      const call = await openCall({
        url: context.openai.url,
        path: '/v1/chat/completions',
        body: chat({ stream: true }),
        user,
      })
      const id = call.headers.get('rma-receipt-id')
      let text = ''
      for await (const chunk of call.body) {
        text += chunk.toString('utf8')
        if (!text.includes('[DONE]')) continue
        // Read the moment [DONE] reached the client, before the response ended.
        expect((await context.openai.store.get(id ?? ''))?.receipt.user).toBe(
          user.address.toLowerCase(),
        )
        break
      }
      expect(text.endsWith('data: [DONE]\n\n')).toBe(true)
      call.destroy()
    },
  },
  {
    name: 'tool-call stream: the tool-call deltas byte for byte, the receipt for the billed usage',
    async run(context) {
      const { answer } = await expectMetered(context, {
        path: '/v1/chat/completions',
        body: chat({ stream: true, stream_options: { include_usage: true }, tools }),
        usage: openaiUsage,
        stream: true,
      })
      expect(answer.text).toContain('"finish_reason":"tool_calls"')
    },
  },
  {
    name: 'Anthropic messages JSON: cache reads and writes billed exactly',
    async run(context) {
      const { receipt } = await expectMetered(context, {
        side: 'anthropic',
        path: '/v1/messages',
        body: claude(),
        headers: anthropicHeaders,
        usage: fakeAnthropicBilled,
      })
      expect(receipt.model).toBe(fakeAnthropicModel)
      // 3 uncached at 3.00, 1,000 read at 0.30, 2,044 written at 3.75, 89 out at 15.00 per 1M.
      expect(receipt.amount).toBe(9309n)
      expect(context.anthropic.upstream.requests.at(-2)?.headers['x-api-key']).toBe('sk-upstream')
    },
  },
  {
    name: 'Anthropic messages SSE: every event as sent, usage from message_start + message_delta',
    async run(context) {
      const { receipt, answer } = await expectMetered(context, {
        side: 'anthropic',
        path: '/v1/messages',
        body: claude({ stream: true }),
        headers: anthropicHeaders,
        usage: fakeAnthropicBilled,
        stream: true,
      })
      expect(receipt.amount).toBe(9309n)
      expect(answer.text.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(
        true,
      )
    },
  },
  {
    name: 'the official openai SDK wrapped by withRMA: JSON and stream receipts pass every @rma/client check',
    async run(context) {
      const user = newUser()
      const openai = withRMA(
        new OpenAI({ baseURL: `${context.openai.url}/v1`, apiKey: 'unused', maxRetries: 0 }),
        clientOptions(context.openai, user),
      )
      const request = {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user' as const, content: 'Hi' }],
        max_tokens: 256,
      }
      const { data, response } = await openai.chat.completions.create(request).withResponse()
      expect(data.choices[0]?.message.content).toBe('Hello there, how can I help?')
      expect((await getReceipt(response)).checks).toEqual(allMatched)
      const stream = await openai.chat.completions.create({ ...request, stream: true })
      let text = ''
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
      expect(text).toBe('word0 word1 word2 word3 word4 word5 word6 word7 ')
      const record = await getReceipt(stream)
      // The meter asked the upstream for usage and removed it: the client cannot compare it.
      expect(record.checks).toEqual({ ...allMatched, usage: 'unreported' })
      expect(record.receipt.seq).toBe(2)
      expect(await storedFor(context, user)).toHaveLength(2)
    },
  },
  {
    name: 'the official @anthropic-ai/sdk through createRmaFetch: the stream and its receipt pass every @rma/client check',
    async run(context) {
      const user = newUser()
      const anthropic = new Anthropic({
        baseURL: context.anthropic.url,
        apiKey: 'unused',
        fetch: createRmaFetch(clientOptions(context.anthropic, user)),
        maxRetries: 0,
      })
      const { data: stream, response } = await anthropic.messages
        .create({
          model: 'claude-sonnet-4-5',
          max_tokens: 1024,
          messages: [{ role: 'user', content: 'Hello' }],
          stream: true,
        })
        .withResponse()
      const types: string[] = []
      for await (const event of stream) types.push(event.type)
      expect(types.at(-1)).toBe('message_stop')
      const record = await getReceipt(response)
      expect(record.checks).toEqual(allMatched)
      expect(record.receipt.amount).toBe(9309n)
    },
  },
  {
    name: 'a 2 MiB prompt: the exact bytes hashed and forwarded, metered like any call',
    async run(context) {
      await expectMetered(context, {
        path: '/v1/chat/completions',
        body: chat({ messages: [{ role: 'user', content: 'lorem ipsum '.repeat(180_000) }] }),
        usage: openaiUsage,
      })
      expect(context.openai.upstream.requests.at(-1)?.body).toEqual(
        context.openai.upstream.requests.at(-2)?.body,
      )
    },
  },
  {
    name: 'client abort mid-stream: the upstream is cancelled, a partial receipt for what was delivered',
    async run(context) {
      const user = newUser()
      const cancelled = context.openai.upstream.cancelled
      const call = await openCall({
        url: context.openai.url,
        path: '/v1/chat/completions',
        body: JSON.stringify({
          model: 'slow',
          messages: [{ role: 'user', content: 'Hi' }],
          stream: true,
        }),
        user,
      })
      expect(call.status).toBe(200)
      let text = ''
      for await (const chunk of call.body) {
        text += chunk.toString('utf8')
        if (text.includes('word2')) break
      }
      call.destroy()
      const [stored] = await storedEventually(context, user, 1)
      expect(stored).toBeDefined()
      await expectReceipt({
        receipt: stored!.receipt,
        id: stored!.id,
        store: context.openai.store,
        domain: context.domain,
        prices: context.openai.prices,
        user,
        requestedModel: 'slow',
        usageSource: 'partial',
      })
      expect(stored!.receipt.outputTokens).toBeGreaterThan(0)
      for (let i = 0; i < 500 && context.openai.upstream.cancelled === cancelled; i++)
        await new Promise((resolve) => setTimeout(resolve, 10))
      expect(context.openai.upstream.cancelled).toBe(cancelled + 1)
    },
  },
  {
    name: 'upstream 429: status, body and retry headers passed through, nothing charged',
    async run(context) {
      const user = newUser()
      const body = chat({ model: 'fail-429' })
      const answer = await postCall({
        url: context.openai.url,
        path: '/v1/chat/completions',
        body,
        user,
      })
      expectRefused(answer, { status: 429, code: 'rate_limit_exceeded' })
      expect(answer.headers.get('retry-after')).toBe('7')
      expect(answer.headers.get('x-ratelimit-remaining-requests')).toBe('0')
      expect(answer.text).toBe(
        Buffer.from(
          await upstreamBytes(context.openai.upstream.url, '/v1/chat/completions', body),
        ).toString('utf8'),
      )
      expect(await storedFor(context, user)).toEqual([])
    },
  },
  {
    name: 'upstream 500 with an HTML page: an OpenAI-shaped error, nothing charged',
    async run(context) {
      const user = newUser()
      const answer = await postCall({
        url: context.openai.url,
        path: '/v1/chat/completions',
        body: chat({ model: 'fail-500' }),
        user,
      })
      expectRefused(answer, { status: 500, code: 'upstream_500' })
      expect(JSON.parse(answer.text)).toMatchObject({ error: { type: 'upstream_error' } })
      expect(answer.headers.get('rma-receipt')).toBeNull()
      expect(await storedFor(context, user)).toEqual([])
    },
  },
  {
    name: 'malformed SSE (a broken frame, a comment): delivered byte for byte, metered from the usage chunk',
    async run(context) {
      await expectMetered(context, {
        path: '/v1/chat/completions',
        body: chat({ model: 'bad-sse', stream: true, stream_options: { include_usage: true } }),
        usage: openaiUsage,
        stream: true,
      })
    },
  },
  {
    name: 'attack: a replayed nonce is refused, the call served and charged once',
    async run(context) {
      const user = newUser()
      const body = chat()
      const attestation = await attestWith(user, { body })
      const send = () =>
        postCall({ url: context.openai.url, path: '/v1/chat/completions', body, attestation })
      expect((await send()).status).toBe(200)
      const forwarded = context.openai.upstream.requests.length
      expectRefused(await send(), { status: 401, code: 'rma_attestation_replayed' })
      expect(context.openai.upstream.requests.length).toBe(forwarded)
      expect(await storedFor(context, user)).toHaveLength(1)
    },
  },
  {
    name: 'attack: eight concurrent sends of one attestation: exactly one served and charged',
    async run(context) {
      const user = newUser()
      const body = chat()
      const attestation = await attestWith(user, { body })
      const forwarded = context.openai.upstream.requests.length
      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          postCall({ url: context.openai.url, path: '/v1/chat/completions', body, attestation }),
        ),
      )
      expect(answers.map((a) => a.status).sort()).toEqual([200, 401, 401, 401, 401, 401, 401, 401])
      expect(context.openai.upstream.requests.length).toBe(forwarded + 1)
      expect(await storedFor(context, user)).toHaveLength(1)
    },
  },
  {
    name: "attack: an attestation naming another user with the attacker's signature is refused",
    async run(context) {
      const victim = newUser()
      const attacker = newUser()
      const body = chat()
      const own = decodeAttestation(await attestWith(attacker, { body }))
      const forged = encodeAttestation({ ...own, user: victim.address as Address })
      await expectNothingGiven(
        context,
        victim,
        () =>
          postCall({
            url: context.openai.url,
            path: '/v1/chat/completions',
            body,
            attestation: forged,
          }),
        { status: 401, code: 'rma_attestation_invalid' },
      )
      expect(await storedFor(context, attacker)).toEqual([])
    },
  },
  {
    name: 'attack: a body other than the one attested is refused',
    async run(context) {
      const user = newUser()
      const attestation = await attestWith(user, { body: chat() })
      await expectNothingGiven(
        context,
        user,
        () =>
          postCall({
            url: context.openai.url,
            path: '/v1/chat/completions',
            body: chat({ max_tokens: 4096 }),
            attestation,
          }),
        { status: 400, code: 'rma_request_hash_mismatch' },
      )
    },
  },
  {
    name: 'attack: a maxAmount below the worst case is refused with 402 before forwarding',
    async run(context) {
      const user = newUser()
      const body = chat()
      await expectNothingGiven(
        context,
        user,
        async () =>
          postCall({
            url: context.openai.url,
            path: '/v1/chat/completions',
            body,
            attestation: await attestWith(user, { body, maxAmount: 1n }),
          }),
        { status: 402, code: 'rma_insufficient_max_amount' },
      )
    },
  },
  {
    name: 'attack: an unpriced model is refused before forwarding',
    async run(context) {
      const user = newUser()
      await expectNothingGiven(
        context,
        user,
        () =>
          postCall({
            url: context.openai.url,
            path: '/v1/chat/completions',
            body: chat({ model: 'gpt-unpriced' }),
            user,
          }),
        { status: 400, code: 'rma_model_not_priced' },
      )
    },
  },
  {
    name: 'attack: an unsigned call is refused on every spelling of a path',
    async run(context) {
      const user = newUser()
      const send = (path: string) =>
        postCall({ url: context.openai.url, path, body: chat(), attestation: null })
      await expectNothingGiven(context, user, () => send('/v1/chat/completions'), {
        status: 401,
        code: 'rma_attestation_missing',
      })
      for (const path of bypassPaths) {
        const forwarded = context.openai.upstream.requests.length
        expectNotServed(await send(path), path)
        expect(context.openai.upstream.requests.length, path).toBe(forwarded)
      }
    },
  },
  {
    name: 'attack: bypass paths are metered on their canonical path or refused, never forwarded unmetered',
    async run(context) {
      for (const path of bypassPaths) {
        const user = newUser()
        const from = context.openai.upstream.requests.length
        const answer = await postCall({ url: context.openai.url, path, body: chat(), user })
        const sent = context.openai.upstream.requests.slice(from)
        const stored = await storedFor(context, user)
        if (answer.status === 200) {
          const receipt = decodeReceipt(answer.headers.get('rma-receipt'))
          expect(stored.map((s) => s.receipt)).toEqual([receipt])
          expect(sent.map((r) => r.path)).toEqual(['/v1/chat/completions'])
        } else {
          expectNotServed(answer, path)
          expect(sent, path).toEqual([])
          expect(stored, path).toEqual([])
        }
        // An encoded slash has no canonical reading: always refused.
        if (path.includes('%2F')) expect(answer.status, path).toBeGreaterThanOrEqual(400)
      }
    },
  },
  {
    name: 'attack: a store that cannot write refuses the call (503) before anything is forwarded',
    async run(context) {
      const { answer, forwarded, stored } = await callOnBrokenStore(context, { writable: false })
      expectRefused(answer, { status: 503, code: 'rma_store_unavailable' })
      expect(forwarded).toBe(0)
      expect(stored).toEqual([])
    },
  },
  {
    name: 'attack: a store failing mid-call (JSON): 503 instead of the body, no receipt',
    async run(context) {
      const { answer, forwarded, stored } = await callOnBrokenStore(context, { appends: false })
      expectRefused(answer, { status: 503, code: 'rma_store_unavailable' })
      expect(answer.headers.get('rma-receipt-status')).toBeNull()
      expect(answer.text).not.toContain('Hello there')
      expect(forwarded).toBe(1)
      expect(stored).toEqual([])
    },
  },
  {
    name: 'attack: a store failing mid-call (stream): no terminator, no receipt frame, an SSE error',
    async run(context) {
      const { answer, stored } = await callOnBrokenStore(context, { appends: false }, true)
      expect(answer.status).toBe(200)
      expect(answer.text).not.toContain('[DONE]')
      expect(answer.text).not.toContain('rma.receipt')
      expect(answer.text).toContain('event: error\ndata: {"error":{')
      expect(answer.text).toContain('rma_store_unavailable')
      expect(stored).toEqual([])
    },
  },
]
