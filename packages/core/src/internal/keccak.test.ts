import fc from 'fast-check'
import { keccak256 } from 'js-sha3'
import { expect, test } from 'vitest'
import { readyHashBackend } from '../hashBackend.js'
import { createKeccakStream, keccak, keccakHex, keccakJs } from './keccak.js'

test('the WebAssembly hasher is ready and gives js-sha3 digests for every length', async () => {
  expect(await readyHashBackend()).toBe('wasm')
  // Lengths around the 136-byte rate, where padding changes shape, and random contents.
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 700 }), (bytes) => {
      const expected = keccakJs(bytes)
      expect(keccak(bytes)).toEqual(expected)
      expect(keccakHex(bytes)).toBe(`0x${Buffer.from(expected).toString('hex')}`)
    }),
    { numRuns: 500, seed: 3 },
  )
  for (let length = 130; length <= 140; length++) {
    const bytes = new Uint8Array(length).fill(length)
    expect(keccakHex(bytes)).toBe(`0x${keccak256(bytes)}`)
  }
})

test('known answer: keccak256 of the empty string', () => {
  expect(keccakHex(new Uint8Array(0))).toBe(
    '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
  )
})

test('interleaved incremental hashes keep their own state', async () => {
  await readyHashBackend()
  const streams = [createKeccakStream(), createKeccakStream(), createKeccakStream()]
  const inputs = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 400 }), {
    numRuns: 30,
    seed: 9,
  })
  const fed: Uint8Array[][] = streams.map(() => [])
  inputs.forEach((bytes, i) => {
    streams[i % 3]!.update(bytes)
    fed[i % 3]!.push(bytes)
  })
  streams[1]!.update('text: é')
  fed[1]!.push(new TextEncoder().encode('text: é'))
  streams.forEach((stream, i) => {
    expect(stream.hex()).toBe(`0x${Buffer.from(keccakJs(Buffer.concat(fed[i]!))).toString('hex')}`)
  })
})

test('an incremental hash copies what it is fed: a buffer reused by the caller changes nothing', () => {
  const stream = createKeccakStream()
  const buffer = new Uint8Array(100).fill(7)
  stream.update(buffer)
  buffer.fill(0)
  stream.update(buffer)
  const expected = new Uint8Array(200)
  expected.fill(7, 0, 100)
  expect(stream.hex()).toBe(keccakHex(expected))
})
