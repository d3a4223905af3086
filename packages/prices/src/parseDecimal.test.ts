import { describe, expect, it } from 'vitest'
import { InvalidDecimalError } from './errors.js'
import { parseDecimal } from './parseDecimal.js'

describe('parseDecimal', () => {
  it('keeps every digit of the text', () => {
    expect(parseDecimal('0.0375', 'p')).toEqual({ units: 375n, scale: 4 })
    expect(parseDecimal('2.50', 'p')).toEqual({ units: 250n, scale: 2 })
    expect(parseDecimal('10', 'p')).toEqual({ units: 10n, scale: 0 })
    expect(parseDecimal('0.18000000000000002', 'p')).toEqual({
      units: 18000000000000002n,
      scale: 17,
    })
  })

  it('rejects anything but a plain non-negative decimal, naming the field', () => {
    for (const bad of [0.5, '-0.5', '+1', '1e3', '1.', '.1', '', '1 ', undefined])
      expect(() => parseDecimal(bad, 'cache_read_mtok')).toThrow(
        new InvalidDecimalError({ field: 'cache_read_mtok', value: bad }),
      )
  })
})
