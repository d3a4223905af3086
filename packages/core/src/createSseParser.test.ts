import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { createSseParser, type SseEvent } from './createSseParser.js'
import { chunkingArbitrary, cutAt } from './testing/chunkingArbitrary.js'

const encoder = new TextEncoder()

function parse(chunks: Iterable<Uint8Array | string>): SseEvent[] {
  const events: SseEvent[] = []
  const parser = createSseParser((event) => events.push(event))
  for (const chunk of chunks) parser.push(typeof chunk === 'string' ? encoder.encode(chunk) : chunk)
  parser.end()
  return events
}

const message = (data: string, event?: string, id?: string): SseEvent => ({ event, data, id })

/** A stream mixing every line ending, comments, multi-byte UTF-8, fields and [DONE]. */
const sample = [
  ': keep-alive comment\n',
  'event: response.output_text.delta\r\n',
  'data: {"type":"response.output_text.delta","delta":"héllo 世界 🚀"}\r\n',
  '\r\n',
  'id: 7\r',
  'data:no space\r',
  'data:  two spaces\r',
  '\r',
  'retry: 1000\n',
  'unknown: ignored\n',
  'data\n',
  '\n',
  'event\n',
  '\n',
  'data: [DONE]\n',
  '\n',
  'data: dropped without its blank line\n',
].join('')

const sampleEvents: SseEvent[] = [
  message(
    '{"type":"response.output_text.delta","delta":"héllo 世界 🚀"}',
    'response.output_text.delta',
  ),
  message('no space\n two spaces', undefined, '7'),
  message('', undefined, '7'),
  message('[DONE]', undefined, '7'),
]

describe('createSseParser', () => {
  test('parses a stream given in one chunk', () => {
    expect(parse([sample])).toEqual(sampleEvents)
  })

  test('any chunking gives the events of one chunk (every cut, every byte alone, property)', () => {
    const bytes = encoder.encode(sample)
    for (let cut = 0; cut <= bytes.length; cut++)
      expect(parse(cutAt(bytes, [cut]))).toEqual(sampleEvents)
    expect(parse(cutAt(bytes, Array.from(bytes.keys())))).toEqual(sampleEvents)
    fc.assert(
      fc.property(chunkingArbitrary(bytes), (chunks) => {
        expect(parse(chunks)).toEqual(sampleEvents)
      }),
      { numRuns: 500 },
    )
  })

  test('every pair of cuts in a CRLF and UTF-8 stream gives the same events', () => {
    const bytes = encoder.encode('data: é🚀\r\n\r\ndata: b\r\r')
    const expected = [message('é🚀'), message('b')]
    for (let a = 0; a <= bytes.length; a++)
      for (let b = a; b <= bytes.length; b++) expect(parse(cutAt(bytes, [a, b]))).toEqual(expected)
  })

  test('CRLF line endings', () => {
    expect(parse(['data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n'])).toEqual([
      message('a\nb'),
      message('c'),
    ])
  })

  test('CR-only line endings', () => {
    expect(parse(['data: a\rdata: b\r\rdata: c\r\r'])).toEqual([message('a\nb'), message('c')])
  })

  test('a CR ending one chunk and an LF starting the next are one line break', () => {
    expect(parse(['data: a\r', '\ndata: b\r', '\n\r', '\n'])).toEqual([message('a\nb')])
  })

  test('a CR ending a chunk followed by a non-LF starts a new line', () => {
    expect(parse(['data: a\r', 'data: b\r', '\r'])).toEqual([message('a\nb')])
  })

  test('multi-line data keeps empty lines and strips only one leading space', () => {
    expect(parse(['data:  x\ndata:\ndata: y \n\n'])).toEqual([message(' x\n\ny ')])
  })

  test('comments neither dispatch nor add data', () => {
    expect(parse([': ping\n\n:\n\ndata: a\n: inside\ndata: b\n\n'])).toEqual([message('a\nb')])
  })

  test('a blank line without data dispatches nothing and forgets the event type', () => {
    expect(parse(['event: x\n\ndata: a\n\n'])).toEqual([message('a')])
  })

  test('[DONE] is an ordinary data event', () => {
    expect(parse(['data: {"a":1}\n\ndata: [DONE]\n\n'])).toEqual([
      message('{"a":1}'),
      message('[DONE]'),
    ])
  })

  test('Responses API event lines name each frame', () => {
    const stream = [
      'event: response.created\n',
      'data: {"type":"response.created"}\n\n',
      'event: response.output_text.delta\n',
      'data: {"type":"response.output_text.delta","delta":"Hi"}\n\n',
      'data: {"untyped":true}\n\n',
    ].join('')
    expect(parse([stream])).toEqual([
      message('{"type":"response.created"}', 'response.created'),
      message('{"type":"response.output_text.delta","delta":"Hi"}', 'response.output_text.delta'),
      message('{"untyped":true}'),
    ])
  })

  test('an empty event field reads as no event type', () => {
    expect(parse(['event:\ndata: a\n\n'])).toEqual([message('a')])
  })

  test('id persists across frames, an empty id clears it, an id with NUL is ignored', () => {
    expect(parse(['id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: x\0y\ndata: d\n\n'])).toEqual([
      message('a', undefined, '1'),
      message('b', undefined, '1'),
      message('c', undefined, ''),
      message('d', undefined, ''),
    ])
  })

  test('a field name without a colon has an empty value', () => {
    expect(parse(['data\ndata\n\n'])).toEqual([message('\n')])
  })

  test('a final frame without its blank line is dropped at end()', () => {
    expect(parse(['data: a\n\ndata: b\n'])).toEqual([message('a')])
    expect(parse(['data: a\n\ndata: b'])).toEqual([message('a')])
  })

  test('end() drops an incomplete UTF-8 sequence and later pushes are ignored', () => {
    const events: SseEvent[] = []
    const parser = createSseParser((e) => events.push(e))
    parser.push(encoder.encode('data: a\n\ndata: '))
    parser.push(new Uint8Array([0xf0, 0x9f]))
    parser.end()
    parser.push(encoder.encode('\n\ndata: late\n\n'))
    parser.end()
    expect(events).toEqual([message('a')])
  })

  test('a leading UTF-8 byte order mark is ignored', () => {
    expect(parse([new Uint8Array([0xef, 0xbb, 0xbf]), 'data: a\n\n'])).toEqual([message('a')])
  })

  test('a multi-byte character split across chunks is decoded intact', () => {
    const bytes = encoder.encode('data: 🚀\n\n')
    expect(parse([bytes.slice(0, 7), bytes.slice(7, 8), bytes.slice(8)])).toEqual([message('🚀')])
  })

  test('stays linear for a long line pushed one byte at a time', () => {
    const line = `data: ${'x'.repeat(200_000)}\n\n`
    const bytes = encoder.encode(line)
    const events: SseEvent[] = []
    const parser = createSseParser((e) => events.push(e))
    const started = performance.now()
    for (let i = 0; i < bytes.length; i++) parser.push(bytes.subarray(i, i + 1))
    parser.end()
    // Quadratic concatenation would copy ~2e10 characters here; linear work takes well under this.
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(events).toHaveLength(1)
    expect(events[0]?.data.length).toBe(200_000)
  })

  test('many frames in one large chunk', () => {
    const frames = Array.from({ length: 10_000 }, (_, i) => `data: ${i}\n\n`).join('')
    const events = parse([frames])
    expect(events).toHaveLength(10_000)
    expect(events[9_999]).toEqual(message('9999'))
  })

  test('an exception from onEvent propagates and the parser stays usable', () => {
    const seen: string[] = []
    const parser = createSseParser((e) => {
      seen.push(e.data)
      if (e.data === 'boom') throw new Error('listener failed')
    })
    expect(() => parser.push(encoder.encode('data: boom\n\n'))).toThrow('listener failed')
    parser.push(encoder.encode('data: next\n\n'))
    expect(seen).toEqual(['boom', 'next'])
  })
})
