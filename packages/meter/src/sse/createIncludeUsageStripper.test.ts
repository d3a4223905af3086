import { describe, expect, test } from 'vitest'
import { createIncludeUsageStripper } from './createIncludeUsageStripper.js'
import { chunkings } from './testing/chunkings.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function strip(chunks: Iterable<Uint8Array | string>): string {
  return decoder.decode(stripBytes(chunks))
}

function stripBytes(chunks: Iterable<Uint8Array | string>): Uint8Array {
  const out: Uint8Array[] = []
  const stripper = createIncludeUsageStripper((bytes) => out.push(bytes.slice()))
  for (const chunk of chunks)
    stripper.push(typeof chunk === 'string' ? encoder.encode(chunk) : chunk)
  stripper.end()
  return new Uint8Array(Buffer.concat(out))
}

const base = {
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-4o-mini',
  service_tier: 'default',
  system_fingerprint: 'fp_1',
}

const deltas = [
  { role: 'assistant', content: '', refusal: null },
  { content: 'Hi' },
  { content: ' "usage":null, said the model: é🚀' },
  { tool_calls: [{ index: 0, function: { arguments: '{"usage":null}' } }] },
  {},
]

const chunks = deltas.map((delta, i) => ({
  ...base,
  choices: [
    {
      index: 0,
      delta,
      logprobs: null,
      finish_reason: i === deltas.length - 1 ? 'stop' : null,
    },
  ],
}))

const usage = {
  prompt_tokens: 9,
  completion_tokens: 12,
  total_tokens: 21,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: {
    reasoning_tokens: 0,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0,
  },
}

/** OpenAI's compact JSON: members in insertion order, no spaces. */
function stream(objects: readonly object[], eol: string): string {
  return [...objects.map((o) => JSON.stringify(o)), '[DONE]']
    .map((data) => `data: ${data}${eol}${eol}`)
    .join('')
}

/** What upstream sends without include_usage, and with it (`"usage":null` last, then the usage chunk). */
function pair(eol: string, obfuscation: boolean) {
  const tail = (o: object) => (obfuscation ? { ...o, obfuscation: 'x1' } : o)
  return {
    without: stream(
      chunks.map((c) => tail(c)),
      eol,
    ),
    with: stream(
      [...chunks.map((c) => tail({ ...c, usage: null })), tail({ ...base, choices: [], usage })],
      eol,
    ),
  }
}

describe('createIncludeUsageStripper', () => {
  test('the fixture pair differs only by include_usage', () => {
    const { with: withUsage, without } = pair('\n', false)
    expect(withUsage).toContain('"finish_reason":null}],"usage":null}\n\n')
    expect(withUsage).toContain('"choices":[],"usage":{"prompt_tokens":9,')
    expect(without).not.toContain('"usage":{')
    expect(withUsage.length).toBeGreaterThan(without.length)
  })

  for (const eol of ['\n', '\r\n', '\r'])
    for (const obfuscation of [false, true])
      test(`strips include_usage byte for byte for any chunking (${JSON.stringify(eol)}, obfuscation ${obfuscation})`, () => {
        const { with: withUsage, without } = pair(eol, obfuscation)
        const expected = Buffer.from(without)
        const bytes = encoder.encode(withUsage)
        let runs = 0
        for (const cut of chunkings(bytes, 60)) {
          const got = stripBytes(cut)
          // Buffer.equals keeps thousands of runs fast; on a mismatch, show the text.
          if (!expected.equals(got)) expect(decoder.decode(got)).toBe(without)
          runs++
        }
        expect(runs).toBeGreaterThan(bytes.length)
      })

  test('a stream without include_usage passes through unchanged', () => {
    const { without } = pair('\n', true)
    expect(strip([without])).toBe(without)
  })

  test('writes each frame as soon as its blank line arrives', () => {
    const written: string[] = []
    const stripper = createIncludeUsageStripper((bytes) => written.push(decoder.decode(bytes)))
    stripper.push(encoder.encode('data: {"choices":[],"usage":null}\n'))
    expect(written).toEqual([])
    stripper.push(encoder.encode('\ndata: {"choi'))
    expect(written).toEqual(['data: {"choices":[]}\n\n'])
    stripper.push(encoder.encode('ces":[{"index":0}],"usage":null}\n\n: ping\n\n'))
    expect(written.join('')).toBe(
      'data: {"choices":[]}\n\ndata: {"choices":[{"index":0}]}\n\n: ping\n\n',
    )
  })

  test('removes "usage":null when it is the first member', () => {
    expect(strip(['data: {"usage":null,"choices":[{"index":0}]}\n\n'])).toBe(
      'data: {"choices":[{"index":0}]}\n\n',
    )
  })

  test('removes the top-level "usage":null, not a nested one', () => {
    const frame = 'data: {"choices":[{"delta":{"usage":null,"content":"a"}}],"usage":null}\n\n'
    expect(strip([frame])).toBe('data: {"choices":[{"delta":{"usage":null,"content":"a"}}]}\n\n')
  })

  test('leaves non-compact JSON as is', () => {
    const frame = 'data: {"choices": [{"index": 0}], "usage": null}\n\n'
    expect(strip([frame])).toBe(frame)
  })

  test('drops a usage chunk even when its JSON is not compact or spans data lines', () => {
    const frames = [
      'data: {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2}}\n\n',
      'data: {"choices":[],\ndata: "usage":{"prompt_tokens":1}}\n\n',
      'data: [DONE]\n\n',
    ]
    expect(strip(frames)).toBe('data: [DONE]\n\n')
  })

  test('leaves a chunk spanning several data lines as is', () => {
    const frame = 'data: {"choices":[{"index":0}],\ndata: "usage":null}\n\n'
    expect(strip([frame])).toBe(frame)
  })

  test('keeps usage on a chunk that also has choices', () => {
    const frame = 'data: {"choices":[{"index":0}],"usage":{"prompt_tokens":1}}\n\n'
    expect(strip([frame])).toBe(frame)
  })

  test('passes comments, [DONE], event frames, non-chat JSON and invalid data through', () => {
    const frames = [
      ': OPENROUTER PROCESSING\n\n',
      'event: rma.receipt\ndata: {"choices":[],"usage":{"prompt_tokens":1}}\n\n',
      'data: {"object":"other","usage":null}\n\n',
      'data: {"choices":[],"usage":null\n\n',
      'data: ["usage",null]\n\n',
      'data: [DONE]\n\n',
    ]
    expect(strip(frames)).toBe(frames.join(''))
  })

  test('passes a frame that is not valid UTF-8 through unchanged', () => {
    const frame = Buffer.concat([
      encoder.encode('data: {"choices":[1],"usage":null,"x":"'),
      new Uint8Array([0xff]),
      encoder.encode('"}\n\n'),
    ])
    expect(stripBytes([frame])).toEqual(new Uint8Array(frame))
  })

  test('keeps a leading byte order mark and the frame after it', () => {
    const bytes = Buffer.concat([
      new Uint8Array([0xef, 0xbb, 0xbf]),
      encoder.encode('data: {"choices":[],"usage":null}\n\n'),
    ])
    expect(stripBytes([bytes])).toEqual(new Uint8Array(bytes))
  })

  test('end() writes an unterminated last frame as it came', () => {
    expect(strip(['data: {"choices":[],"usage":{"prompt_tokens":1}}\n'])).toBe(
      'data: {"choices":[],"usage":{"prompt_tokens":1}}\n',
    )
  })

  test('drops the LF of a CRLF arriving after the dropped frame', () => {
    expect(
      strip(['data: {"choices":[],"usage":{"prompt_tokens":1}}\r\n\r', '\ndata: [DONE]\r\n\r\n']),
    ).toBe('data: [DONE]\r\n\r\n')
  })

  test('stray blank lines between frames pass through', () => {
    expect(strip(['\n\ndata: {"choices":[{}],"usage":null}\n\n\n'])).toBe(
      '\n\ndata: {"choices":[{}]}\n\n\n',
    )
  })

  test('ignores empty chunks and pushes after end()', () => {
    const written: string[] = []
    const stripper = createIncludeUsageStripper((bytes) => written.push(decoder.decode(bytes)))
    stripper.push(new Uint8Array(0))
    stripper.push(encoder.encode('data: [DONE]\n\n'))
    stripper.end()
    stripper.push(encoder.encode('data: late\n\n'))
    stripper.end()
    expect(written).toEqual(['data: [DONE]\n\n'])
  })

  test('does not hold on to a caller buffer that is reused', () => {
    const written: string[] = []
    const stripper = createIncludeUsageStripper((bytes) => written.push(decoder.decode(bytes)))
    const buffer = encoder.encode('data: [DO')
    stripper.push(buffer)
    buffer.fill(0x78)
    stripper.push(encoder.encode('NE]\n\n'))
    expect(written.join('')).toBe('data: [DONE]\n\n')
  })
})
