import { expect, test } from 'vitest'
import { rmaSettlementBytecode, rmaSettlementLinkReferences } from './artifacts/RMASettlement.js'
import { linkBytecode } from './linkBytecode.js'

const library = '0x00000000000000000000000000000000000000ab'

test('writes the library address over every placeholder, and nothing else', () => {
  expect(rmaSettlementBytecode).toContain('__$')
  const linked = linkBytecode(rmaSettlementBytecode, rmaSettlementLinkReferences, {
    RMAPenalty: library,
  })
  expect(linked).not.toContain('__$')
  expect(linked).toHaveLength(rmaSettlementBytecode.length)
  const references = Object.values(rmaSettlementLinkReferences).flatMap((l) => l.RMAPenalty)
  expect(references.length).toBeGreaterThan(0)
  let expected = rmaSettlementBytecode.slice(2)
  for (const { start, length } of references) {
    expect(linked.slice(2 + start * 2, 2 + (start + length) * 2)).toBe(
      library.slice(2).toLowerCase(),
    )
    expected =
      expected.slice(0, start * 2) +
      library.slice(2).toLowerCase() +
      expected.slice((start + length) * 2)
  }
  expect(linked).toBe(`0x${expected}`)
})

test('a library without an address: MISSING_LIBRARY_ADDRESS', () => {
  expect(() => linkBytecode(rmaSettlementBytecode, rmaSettlementLinkReferences, {})).toThrow(
    expect.objectContaining({ code: 'MISSING_LIBRARY_ADDRESS' }),
  )
})
