import fc from 'fast-check'

/**
 * Cuts `bytes` at the given offsets (any order, duplicates allowed, within `0..length`).
 *
 * @example
 * cutAt(new Uint8Array([1, 2, 3]), [1]) // [[1], [2, 3]]
 */
export function cutAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const sorted = [...offsets].sort((a, b) => a - b)
  return [...sorted, bytes.length].map((end, i) => bytes.slice(i === 0 ? 0 : sorted[i - 1], end))
}

/**
 * Every way of delivering `bytes` as chunks (empty chunks included): the property tests' input
 * for incremental parsers, which must give the same result for any chunking.
 *
 * @example
 * fc.assert(fc.property(chunkingArbitrary(bytes), (chunks) => expect(parse(chunks)).toEqual(once)))
 */
export function chunkingArbitrary(bytes: Uint8Array): fc.Arbitrary<Uint8Array[]> {
  return fc
    .array(fc.integer({ min: 0, max: bytes.length }), { maxLength: Math.max(1, bytes.length) })
    .map((offsets) => cutAt(bytes, offsets))
}
