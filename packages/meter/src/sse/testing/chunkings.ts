/**
 * Test helpers: deterministic ways of cutting a byte stream into chunks, so a streaming
 * parser can be checked against the one-chunk result without a property-testing library.
 */

/**
 * A small seeded PRNG (mulberry32): the same seed gives the same sequence on every run.
 *
 * @example
 * const next = seededRandom(42)
 * next() // a number in [0, 1)
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Cuts `bytes` at the given offsets (ascending, within bounds).
 *
 * @example
 * splitAt(new Uint8Array([1, 2, 3]), [1]) // [[1], [2, 3]]
 */
export function splitAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = []
  let start = 0
  for (const offset of offsets) {
    chunks.push(bytes.slice(start, offset))
    start = offset
  }
  chunks.push(bytes.slice(start))
  return chunks
}

/**
 * Cuts `bytes` into chunks of random sizes between 1 and `maxSize`, seeded.
 *
 * @example
 * randomChunks(bytes, 7, 16) // the same chunks on every run
 */
export function randomChunks(bytes: Uint8Array, seed: number, maxSize: number): Uint8Array[] {
  const next = seededRandom(seed)
  const offsets: number[] = []
  let at = 0
  for (;;) {
    at += 1 + Math.floor(next() * maxSize)
    if (at >= bytes.length) break
    offsets.push(at)
  }
  return splitAt(bytes, offsets)
}

/**
 * Every chunking a test should try: the whole stream, one byte at a time, a cut at every
 * position, and `randomRuns` seeded random chunkings with small and large chunk sizes.
 *
 * @example
 * for (const chunks of chunkings(bytes)) expect(parse(chunks)).toEqual(expected)
 */
export function* chunkings(bytes: Uint8Array, randomRuns = 200): Generator<Uint8Array[]> {
  yield [bytes]
  yield splitAt(
    bytes,
    Array.from({ length: Math.max(0, bytes.length - 1) }, (_, i) => i + 1),
  )
  for (let cut = 0; cut <= bytes.length; cut++) yield splitAt(bytes, [cut])
  for (let seed = 1; seed <= randomRuns; seed++)
    yield randomChunks(bytes, seed, seed % 2 === 0 ? 4 : 64)
}
