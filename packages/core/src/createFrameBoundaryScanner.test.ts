import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { createFrameBoundaryScanner } from './createFrameBoundaryScanner.js'
import { createSseParser, type SseEvent } from './createSseParser.js'
import { chunkingArbitrary } from './testing/chunkingArbitrary.js'

const bytes = (text: string) => Buffer.from(text)

describe('createFrameBoundaryScanner', () => {
  test('the end of the last whole frame in a chunk, or -1', () => {
    const scanner = createFrameBoundaryScanner()
    expect(scanner.push(bytes('data: a\n\ndata: b'))).toBe(9)
    expect(scanner.push(bytes('\n'))).toBe(-1)
    expect(scanner.push(bytes('\nda'))).toBe(1)
  })

  test('CRLF and CR line breaks, and a CRLF split between chunks', () => {
    const scanner = createFrameBoundaryScanner()
    expect(scanner.push(bytes('data: a\r\n\r\n'))).toBe(11)
    expect(scanner.push(bytes('data: b\r\r'))).toBe(9)
    expect(scanner.push(bytes('data: c\r\n\r'))).toBe(10)
    // The LF of that last CRLF arrives next: it belongs to the frame that ended.
    expect(scanner.push(bytes('\ndata: d'))).toBe(1)
  })

  test('forwarding only up to the boundaries hands a client whole frames, the same events', () => {
    const stream = ': comment\r\nevent: x\ndata: 1\n\ndata: 2\r\ndata: 3\r\n\r\ndata: [DONE]\n\n'
    for (let cut = 1; cut < stream.length; cut++) {
      const scanner = createFrameBoundaryScanner()
      const events: SseEvent[] = []
      const client = createSseParser((e) => events.push(e))
      let tail = Buffer.alloc(0)
      for (const chunk of [stream.slice(0, cut), stream.slice(cut)]) {
        const b = bytes(chunk)
        const end = scanner.push(b)
        const all = Buffer.concat([tail, b])
        const whole = end === -1 ? 0 : tail.length + end
        client.push(all.subarray(0, whole))
        tail = all.subarray(whole)
        // A client holding only whole frames is never in the middle of a line.
        expect(whole === 0 || [10, 13].includes(all[whole - 1]!)).toBe(true)
      }
      expect(tail.length).toBe(0)
      expect(events.map((e) => e.data)).toEqual(['1', '2\n3', '[DONE]'])
    }
  })
})

describe('createFrameBoundaryScanner: every frame end, for any chunking', () => {
  /** The frames of a stream as byte strings, an extension joined to the frame it ends. */
  function frames(chunks: Uint8Array[]): string[] {
    const scanner = createFrameBoundaryScanner()
    const out: string[] = []
    let pending = ''
    for (const chunk of chunks) {
      let start = 0
      scanner.push(chunk, (end, extension) => {
        const piece = pending + Buffer.from(chunk.subarray(start, end)).toString('latin1')
        pending = ''
        start = end
        if (extension) out[out.length - 1] += piece
        else out.push(piece)
      })
      pending += Buffer.from(chunk.subarray(start)).toString('latin1')
    }
    return out
  }

  const stream = bytes(
    'data: a\r\n\r\n: c\r\revent: x\rdata: b\r\r\ndata: c\n\ndata: é🚀\r\n\r\ndata: [DONE]\r\r',
  )
  const once = [
    'data: a\r\n\r\n',
    ': c\r\r',
    'event: x\rdata: b\r\r\n',
    'data: c\n\n',
    'data: é🚀\r\n\r\n',
    'data: [DONE]\r\r',
  ].map((frame) => Buffer.from(frame).toString('latin1'))

  test('one chunk: each frame with its whole blank line (CRLF kept together)', () => {
    expect(frames([stream])).toEqual(once)
  })

  test('any chunking reports the same frames (property)', () => {
    fc.assert(
      fc.property(chunkingArbitrary(stream), (chunks) => {
        expect(frames(chunks)).toEqual(once)
      }),
      { numRuns: 500 },
    )
  })

  test('a CRLF cut after its CR: the LF comes next as an extension of the frame', () => {
    const scanner = createFrameBoundaryScanner()
    const seen: [number, boolean][] = []
    scanner.push(bytes('data: a\r\n\r'), (end, extension) => seen.push([end, extension]))
    scanner.push(bytes('\ndata: b\n\n'), (end, extension) => seen.push([end, extension]))
    expect(seen).toEqual([
      [10, false],
      [1, true],
      [10, false],
    ])
  })
})
