import { BaseError } from '@rma/core'
import { describe, expect, it } from 'vitest'
import { InvalidDecimalError, InvalidDecimalsError } from './errors.js'
import { usdToBaseUnits } from './usdToBaseUnits.js'

describe('usdToBaseUnits', () => {
  it('converts exact prices without rounding', () => {
    expect(usdToBaseUnits({ usd: '0.0375', decimals: 6 })).toBe(37_500n)
    expect(usdToBaseUnits({ usd: '2.5', decimals: 6 })).toBe(2_500_000n)
    expect(usdToBaseUnits({ usd: '0.0375', decimals: 18 })).toBe(37_500_000_000_000_000n)
    expect(usdToBaseUnits({ usd: '0.003625', decimals: 6 })).toBe(3_625n)
    expect(usdToBaseUnits({ usd: '0', decimals: 6 })).toBe(0n)
    expect(usdToBaseUnits({ usd: '000.50', decimals: 2 })).toBe(50n)
    // A price far beyond a float's 2^53, kept exact.
    expect(usdToBaseUnits({ usd: '123456789012345678.9', decimals: 18 })).toBe(
      123_456_789_012_345_678_900_000_000_000_000_000n,
    )
  })

  it('applies the rate exactly', () => {
    expect(usdToBaseUnits({ usd: '2.5', usdRate: '0.92', decimals: 6 })).toBe(2_300_000n)
    // 1 ETH-like token = $4000: 0.0375 / 4000 = 0.000009375 tokens = 9_375_000_000_000 wei
    expect(usdToBaseUnits({ usd: '0.0375', usdRate: '0.00025', decimals: 18 })).toBe(
      9_375_000_000_000n,
    )
  })

  it('rounds up only what is not a whole base unit', () => {
    // 0.0375 at 0 decimals = 0.0375 → 1; at 2 decimals 3.75 → 4; at 4 decimals 375 exactly
    expect(usdToBaseUnits({ usd: '0.0375', decimals: 0 })).toBe(1n)
    expect(usdToBaseUnits({ usd: '0.0375', decimals: 2 })).toBe(4n)
    expect(usdToBaseUnits({ usd: '0.0375', decimals: 4 })).toBe(375n)
    // 2.5 × 1.0000003 = 2.50000075 → 2_500_000.75 → 2_500_001
    expect(usdToBaseUnits({ usd: '2.5', usdRate: '1.0000003', decimals: 6 })).toBe(2_500_001n)
    // 0.1 × (1/3 rounded to 0.333333333) = 0.0333333333 → 33_333.3333 → 33_334
    expect(usdToBaseUnits({ usd: '0.1', usdRate: '0.333333333', decimals: 6 })).toBe(33_334n)
    // The source's own float residue is kept, not guessed away: 0.18000000000000002 → 180_001
    expect(usdToBaseUnits({ usd: '0.18000000000000002', decimals: 6 })).toBe(180_001n)
    expect(usdToBaseUnits({ usd: '0.0000001', decimals: 6 })).toBe(1n)
  })

  it.each([2.5, '-1', '1e-7', '', '.5', '5.', ' 1', '1,5', '0x10', 'NaN', null, 5n])(
    'rejects the price %s with INVALID_DECIMAL',
    (usd) => {
      const call = () => usdToBaseUnits({ usd: usd as string, decimals: 6 })
      expect(call).toThrow(InvalidDecimalError)
      expect(call).toThrow(BaseError)
      try {
        call()
      } catch (e) {
        expect((e as InvalidDecimalError).code).toBe('INVALID_DECIMAL')
        expect((e as InvalidDecimalError).field).toBe('usd')
      }
    },
  )

  it('rejects a bad rate and bad decimals with typed errors', () => {
    expect(() => usdToBaseUnits({ usd: '1', usdRate: '-0.5', decimals: 6 })).toThrow(
      new InvalidDecimalError({ field: 'usdRate', value: '-0.5' }),
    )
    expect(() => usdToBaseUnits({ usd: '1', usdRate: '-0.5', decimals: 6 })).toThrow(
      'usdRate must be a non-negative decimal string.\n\nDetails: Write it like "2.5" or "0.0375" (digits, at most one point, no sign or exponent); received string "-0.5".',
    )
    for (const decimals of [1.5, -1, 256, Number.NaN, '6' as unknown as number]) {
      const call = () => usdToBaseUnits({ usd: '1', decimals })
      expect(call).toThrow(InvalidDecimalsError)
      expect(call).toThrow('decimals must be an integer from 0 to 255.')
    }
  })
})
