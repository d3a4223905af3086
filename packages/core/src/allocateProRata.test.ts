import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { allocateProRata } from './allocateProRata.js'
import { InvalidAllocationError } from './errors.js'
import { thrown } from './testing/thrown.js'

function expectAllocationError(fn: () => unknown, message: string) {
  const error = thrown(fn)
  expect(error).toBeInstanceOf(InvalidAllocationError)
  expect(error).toMatchObject({
    name: 'InvalidAllocationError',
    code: 'INVALID_ALLOCATION',
    message,
  })
}

const total = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n })
const weights = fc.array(
  fc.oneof(
    fc.constant(0n),
    fc.bigInt({ min: 0n, max: 1n << 96n }),
    fc.bigInt({ min: 0n, max: 10n }),
  ),
  {
    minLength: 1,
    maxLength: 40,
  },
)
/** Weights with at least one positive entry, so any total can be allocated. */
const positiveWeights = weights.filter((ws) => ws.some((w) => w > 0n))

describe('allocateProRata examples', () => {
  test('100 over three equal weights: the unit left over goes to the lowest index', () => {
    expect(allocateProRata(100n, [1n, 1n, 1n])).toEqual([34n, 33n, 33n])
  })

  test('two units left over among equal remainders go to the two lowest indexes', () => {
    expect(allocateProRata(101n, [1n, 1n, 1n])).toEqual([34n, 34n, 33n])
    expect(allocateProRata(2n, [1n, 1n, 1n, 1n])).toEqual([1n, 1n, 0n, 0n])
  })

  test('leftover units go to the largest remainders, not the largest weights', () => {
    // exact shares: 10 × 3/10 = 3, 10 × 5/10 = 5, 10 × 2/10 = 2 → no leftover
    expect(allocateProRata(10n, [3n, 5n, 2n])).toEqual([3n, 5n, 2n])
    // exact shares: 7 × 1/6 = 1.1667, 7 × 2/6 = 2.333, 7 × 3/6 = 3.5 → floors 1, 2, 3 and one unit to 3.5
    expect(allocateProRata(7n, [1n, 2n, 3n])).toEqual([1n, 2n, 4n])
    // exact shares: 1 × 2/3 = 0.667 and 1 × 1/3 = 0.333: the unit goes to the larger remainder
    expect(allocateProRata(1n, [1n, 2n])).toEqual([0n, 1n])
  })

  test('is proportional for large amounts (18-decimal tokens)', () => {
    const ether = 10n ** 18n
    expect(allocateProRata(1000n * ether, [1n, 3n])).toEqual([250n * ether, 750n * ether])
  })

  test('zero weights get 0, even when they come first', () => {
    expect(allocateProRata(100n, [0n, 1n, 0n, 1n, 0n])).toEqual([0n, 50n, 0n, 50n, 0n])
    expect(allocateProRata(5n, [0n, 0n, 1n])).toEqual([0n, 0n, 5n])
    expect(allocateProRata(3n, [0n, 1n, 1n])).toEqual([0n, 2n, 1n])
  })

  test('a zero total gives zeros, also over zero or no weights', () => {
    expect(allocateProRata(0n, [5n, 7n])).toEqual([0n, 0n])
    expect(allocateProRata(0n, [0n, 0n])).toEqual([0n, 0n])
    expect(allocateProRata(0n, [])).toEqual([])
  })

  test('does not modify its input', () => {
    const input = [3n, 1n, 2n] as const
    allocateProRata(10n, input)
    expect(input).toEqual([3n, 1n, 2n])
  })
})

describe('allocateProRata errors', () => {
  test('a negative weight', () => {
    expectAllocationError(
      () => allocateProRata(10n, [1n, -1n]),
      'Weights must be non-negative bigints, got -1.',
    )
  })

  test('a weight that is not a bigint', () => {
    expectAllocationError(
      () => allocateProRata(10n, [1n, 2 as unknown as bigint]),
      'Weights must be non-negative bigints, got 2.',
    )
  })

  test('a positive total over zero weights or no weights', () => {
    expectAllocationError(
      () => allocateProRata(10n, [0n, 0n]),
      'Cannot allocate 10 over zero total weight.',
    )
    expectAllocationError(
      () => allocateProRata(1n, []),
      'Cannot allocate 1 over zero total weight.',
    )
  })

  test('a negative or non-bigint total', () => {
    expectAllocationError(
      () => allocateProRata(-1n, [1n]),
      'Total must be a non-negative bigint, got -1.',
    )
    expectAllocationError(
      () => allocateProRata(10 as unknown as bigint, [1n]),
      'Total must be a non-negative bigint, got 10.',
    )
  })
})

describe('allocateProRata properties', () => {
  test('parts always sum to the total and there is one part per weight', () => {
    fc.assert(
      fc.property(total, positiveWeights, (t, ws) => {
        const parts = allocateProRata(t, ws)
        expect(parts).toHaveLength(ws.length)
        expect(parts.reduce((a, b) => a + b, 0n)).toBe(t)
      }),
      { numRuns: 1000 },
    )
  })

  test('each part is within one unit of its exact proportional value', () => {
    fc.assert(
      fc.property(total, positiveWeights, (t, ws) => {
        const sum = ws.reduce((a, b) => a + b, 0n)
        const parts = allocateProRata(t, ws)
        parts.forEach((part, i) => {
          const error = part * sum - t * ws[i]!
          expect(error < sum && -error < sum).toBe(true)
          // largest remainder never rounds below the floor
          expect(part >= (t * ws[i]!) / sum).toBe(true)
        })
      }),
      { numRuns: 1000 },
    )
  })

  test('zero weights always get 0', () => {
    fc.assert(
      fc.property(total, positiveWeights, (t, ws) => {
        const parts = allocateProRata(t, ws)
        ws.forEach((w, i) => {
          if (w === 0n) expect(parts[i]).toBe(0n)
        })
      }),
      { numRuns: 1000 },
    )
  })

  test('equal weights never get parts more than one unit apart, and lower indexes get the extra units', () => {
    fc.assert(
      fc.property(
        total,
        fc.bigInt({ min: 1n, max: 1000n }),
        fc.integer({ min: 1, max: 30 }),
        (t, w, n) => {
          const parts = allocateProRata(
            t,
            Array.from({ length: n }, () => w),
          )
          for (let i = 1; i < n; i++) {
            expect(parts[i - 1]! - parts[i]!).toBeGreaterThanOrEqual(0n)
            expect(parts[0]! - parts[i]!).toBeLessThanOrEqual(1n)
          }
        },
      ),
      { numRuns: 1000 },
    )
  })

  test('is deterministic: the same inputs always give the same parts', () => {
    fc.assert(
      fc.property(total, positiveWeights, (t, ws) => {
        expect(allocateProRata(t, [...ws])).toEqual(allocateProRata(t, [...ws]))
      }),
      { numRuns: 1000 },
    )
  })
})
