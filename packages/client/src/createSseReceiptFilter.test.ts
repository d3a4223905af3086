import type { Endpoint } from '@rma/core'
import { keccak256 } from 'js-sha3'
import { describe, expect, test } from 'vitest'
import { createSseReceiptFilter } from './createSseReceiptFilter.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const frame = `event: rma.receipt\ndata: {"object":"rma.receipt","id":"call-1","hash":"0x01","receipt":"AQID"}\n\n`
const chat = (eol: string) =>
  [
    `data: {"id":"1","model":"gpt-4o-mini","choices":[{"delta":{"content":"Hé"}}],"usage":null}${eol}${eol}`,
    `: keep-alive${eol}${eol}`,
    `data: {"id":"1","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3}}${eol}${eol}`,
    `data: [DONE]${eol}${eol}`,
  ].join('')

/** Feeds `bytes` cut at `cuts`, returning what was delivered, held and found. */
function run(bytes: Uint8Array, cuts: number[], endpoint: Endpoint = 'chat') {
  const filter = createSseReceiptFilter(endpoint)
  const delivered: Uint8Array[] = []
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    delivered.push(...filter.push(bytes.subarray(from, cut)))
    from = cut
  }
  const result = filter.end()
  const text = decoder.decode(Buffer.concat([...delivered, ...result.held]))
  return { result, text, early: decoder.decode(Buffer.concat(delivered)) }
}

describe('createSseReceiptFilter', () => {
  for (const eol of ['\n', '\r\n', '\r']) {
    test(`removes the inline receipt and keeps every other byte, at every cut (${JSON.stringify(eol)})`, () => {
      const upstream = chat(eol)
      const bytes = encoder.encode(upstream + frame)
      for (let cut = 0; cut <= bytes.length; cut++) {
        for (const second of [cut, Math.min(bytes.length, cut + 7)]) {
          const { result, text, early } = run(bytes, [cut, second])
          expect(text).toBe(upstream)
          expect(early.includes('[DONE]')).toBe(false)
          expect(result.receipt).toEqual({ id: 'call-1', encoded: 'AQID' })
          expect(result.responseHash).toBe(`0x${keccak256(encoder.encode(upstream))}`)
          expect(result.usage).toEqual({
            inputTokens: 9,
            cachedInputTokens: 0,
            outputTokens: 3,
            reasoningTokens: 0,
          })
          expect(result.model).toBe('gpt-4o-mini')
        }
      }
    })
  }

  test('delivers whole frames as they complete and holds [DONE] until the end', () => {
    const filter = createSseReceiptFilter('chat')
    const first = 'data: {"a":1}\n\n'
    expect(filter.push(encoder.encode(`${first}data: {"b"`)).map((b) => decoder.decode(b))).toEqual(
      [first],
    )
    expect(
      filter.push(encoder.encode(':2}\n\ndata: [DONE]\n\n')).map((b) => decoder.decode(b)),
    ).toEqual(['data: {"b":2}\n\n'])
    const { held, receipt } = filter.end()
    expect(held.map((b) => decoder.decode(b))).toEqual(['data: [DONE]\n\n'])
    expect(receipt).toBeUndefined()
  })

  test('an rma.receipt frame followed by more bytes is upstream data, delivered and hashed', () => {
    const upstream = `${frame}data: {"x":1}\n\n`
    const { result, text } = run(encoder.encode(upstream), [])
    expect(text).toBe(upstream)
    expect(result.receipt).toBeUndefined()
    expect(result.responseHash).toBe(`0x${keccak256(upstream)}`)
  })

  test('a last upstream frame without its blank line keeps its bytes; the receipt is still found', () => {
    const upstream =
      'event: response.completed\ndata: {"type":"response.completed","response":{"model":"m","usage":{"input_tokens":5,"output_tokens":2}}}\n'
    const { result, text } = run(encoder.encode(upstream + frame), [10], 'responses')
    expect(text).toBe(upstream)
    expect(result.receipt).toEqual({ id: 'call-1', encoded: 'AQID' })
    // The frame never ended, so it was never dispatched: the meter's parser drops it too, and
    // the client reads the usage the meter read (none), not a usage the meter never saw.
    expect(result.usage).toBeUndefined()
  })

  test('a terminated Responses stream: usage and model from response.completed, held from there', () => {
    const completed =
      'event: response.completed\ndata: {"type":"response.completed","response":{"model":"m","usage":{"input_tokens":5,"output_tokens":2}}}\n\n'
    const upstream = `event: response.created\ndata: {"type":"response.created","response":{"model":"m","usage":null}}\n\n${completed}`
    const { result, text, early } = run(encoder.encode(upstream + frame), [], 'responses')
    expect(text).toBe(upstream)
    expect(early.includes('response.completed')).toBe(false)
    expect(result.usage).toEqual({
      inputTokens: 5,
      cachedInputTokens: 0,
      outputTokens: 2,
      reasoningTokens: 0,
    })
    expect(result.model).toBe('m')
  })

  test('a malformed receipt frame, and error events', () => {
    const bad = run(encoder.encode('data: {}\n\nevent: rma.receipt\ndata: nope\n\n'), [])
    expect(bad.result.receipt).toBe('malformed')
    const failed = run(encoder.encode('event: error\ndata: {"error":{"message":"x"}}\n\n'), [])
    expect(failed.result.failed).toBe(true)
  })

  test('abort(): the hash of every byte received, a half frame included', () => {
    const filter = createSseReceiptFilter('chat')
    filter.push(encoder.encode('data: {"a":1}\n\ndata: {"b'))
    expect(filter.abort().responseHash).toBe(`0x${keccak256('data: {"a":1}\n\ndata: {"b')}`)
  })
})
