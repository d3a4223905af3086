import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { InvalidSharesError } from './errors.js'
import { assertShares, BPS, type RevenueShares, splitRevenue } from './splitRevenue.js'
import { thrown } from './testing/thrown.js'

const sharesDetails = 'Each share is an integer number of basis points and the four sum to 10000.'

function expectSharesError(fn: () => unknown, shortMessage: string) {
  const error = thrown(fn)
  expect(error).toBeInstanceOf(InvalidSharesError)
  expect(error).toMatchObject({
    name: 'InvalidSharesError',
    code: 'INVALID_SHARES',
    shortMessage,
    details: sharesDetails,
    message: `${shortMessage}\n\nDetails: ${sharesDetails}`,
  })
}

const typical: RevenueShares = {
  issuerBps: 5000,
  supportersBps: 3000,
  usersBps: 1500,
  protocolBps: 500,
}

/** Four non-negative integers summing to 10,000, as three cut points in [0, 10000]. */
const sharesArbitrary: fc.Arbitrary<RevenueShares> = fc
  .tuple(
    fc.integer({ min: 0, max: BPS }),
    fc.integer({ min: 0, max: BPS }),
    fc.integer({ min: 0, max: BPS }),
  )
  .map((cuts) => {
    const [a, b, c] = [...cuts].sort((x, y) => x - y) as [number, number, number]
    return { issuerBps: a, supportersBps: b - a, usersBps: c - b, protocolBps: BPS - c }
  })
const revenueArbitrary = fc.oneof(
  fc.bigInt({ min: 0n, max: 100_000n }),
  fc.bigInt({ min: 0n, max: (1n << 200n) - 1n }),
)

describe('splitRevenue examples', () => {
  test('the documented example: the issuer gets its share plus the dust', () => {
    // 1001 × 3000, 1500, 500 / 10000 = 300.3, 150.15, 50.05 → 300, 150, 50; issuer 500.5 + 0.5 dust
    expect(splitRevenue(1001n, typical)).toEqual({
      issuer: 501n,
      supporters: 300n,
      users: 150n,
      protocol: 50n,
    })
  })

  test('an exact multiple leaves no dust', () => {
    expect(splitRevenue(10_000n, typical)).toEqual({
      issuer: 5000n,
      supporters: 3000n,
      users: 1500n,
      protocol: 500n,
    })
  })

  test('small revenues round every non-issuer part down to the issuer', () => {
    expect(splitRevenue(1n, typical)).toEqual({
      issuer: 1n,
      supporters: 0n,
      users: 0n,
      protocol: 0n,
    })
    expect(splitRevenue(3n, typical)).toEqual({
      issuer: 3n,
      supporters: 0n,
      users: 0n,
      protocol: 0n,
    })
    expect(splitRevenue(0n, typical)).toEqual({
      issuer: 0n,
      supporters: 0n,
      users: 0n,
      protocol: 0n,
    })
  })

  test('maximal dust: three parts each lose almost one unit', () => {
    const shares = { issuerBps: 1, supportersBps: 3333, usersBps: 3333, protocolBps: 3333 }
    // 9999 × 3333 / 10000 = 3332.6667 → 3332 each; issuer 9999 − 3 × 3332 = 3 (its share 0.9999 plus 2.0001 dust)
    expect(splitRevenue(9999n, shares)).toEqual({
      issuer: 3n,
      supporters: 3332n,
      users: 3332n,
      protocol: 3332n,
    })
  })

  test('a 100% share and zero shares', () => {
    expect(
      splitRevenue(777n, { issuerBps: 0, supportersBps: 10_000, usersBps: 0, protocolBps: 0 }),
    ).toEqual({
      issuer: 0n,
      supporters: 777n,
      users: 0n,
      protocol: 0n,
    })
  })

  test('18-decimal amounts stay exact', () => {
    const revenue = 123_456_789_012_345_678_901_234_567n
    const split = splitRevenue(revenue, typical)
    expect(split).toEqual({
      issuer: 61_728_394_506_172_839_450_617_284n,
      supporters: 37_037_036_703_703_703_670_370_370n,
      users: 18_518_518_351_851_851_835_185_185n,
      protocol: 6_172_839_450_617_283_945_061_728n,
    })
  })
})

describe('splitRevenue errors', () => {
  test('shares not summing to 10000', () => {
    expectSharesError(
      () => splitRevenue(100n, { ...typical, protocolBps: 400 }),
      'Shares sum to 9900 bps, not 10000.',
    )
    expectSharesError(
      () => splitRevenue(100n, { ...typical, protocolBps: 600 }),
      'Shares sum to 10100 bps, not 10000.',
    )
  })

  test('fractional, negative, oversized or non-number bps', () => {
    const message = 'Each share must be an integer between 0 and 10000 bps.'
    expectSharesError(
      () => splitRevenue(100n, { ...typical, issuerBps: 4999.5, protocolBps: 500.5 }),
      message,
    )
    expectSharesError(
      () => splitRevenue(100n, { ...typical, issuerBps: 5500, protocolBps: -500 }),
      message,
    )
    expectSharesError(
      () =>
        splitRevenue(100n, {
          issuerBps: 20_000,
          supportersBps: -10_000,
          usersBps: 0,
          protocolBps: 0,
        }),
      message,
    )
    expectSharesError(() => splitRevenue(100n, { ...typical, usersBps: Number.NaN }), message)
    expectSharesError(
      () => splitRevenue(100n, { ...typical, usersBps: '1500' as unknown as number }),
      message,
    )
  })

  test('assertShares checks the same rules without a revenue', () => {
    expect(() => assertShares(typical)).not.toThrow()
    expectSharesError(
      () => assertShares({ ...typical, issuerBps: 0 }),
      'Shares sum to 5000 bps, not 10000.',
    )
  })

  test('a negative or non-bigint revenue', () => {
    expectSharesError(
      () => splitRevenue(-1n, typical),
      'Revenue must be a non-negative bigint, got -1.',
    )
    expectSharesError(
      () => splitRevenue(100 as unknown as bigint, typical),
      'Revenue must be a non-negative bigint, got 100.',
    )
  })
})

describe('splitRevenue properties', () => {
  test('parts sum to the revenue; non-issuer parts are floor(revenue × bps / 10000); issuer dust < 3 units', () => {
    fc.assert(
      fc.property(revenueArbitrary, sharesArbitrary, (revenue, shares) => {
        const split = splitRevenue(revenue, shares)
        expect(split.issuer + split.supporters + split.users + split.protocol).toBe(revenue)
        const floor = (bps: number) => (revenue * BigInt(bps)) / 10_000n
        expect(split.supporters).toBe(floor(shares.supportersBps))
        expect(split.users).toBe(floor(shares.usersBps))
        expect(split.protocol).toBe(floor(shares.protocolBps))
        // dust = issuer − exact issuer share, scaled by 10000 to stay in integers
        const scaledDust = split.issuer * 10_000n - revenue * BigInt(shares.issuerBps)
        expect(scaledDust >= 0n && scaledDust < 3n * 10_000n).toBe(true)
        for (const part of Object.values(split)) expect(part >= 0n).toBe(true)
      }),
      { numRuns: 1000 },
    )
  })

  test('is deterministic', () => {
    fc.assert(
      fc.property(revenueArbitrary, sharesArbitrary, (revenue, shares) => {
        expect(splitRevenue(revenue, { ...shares })).toEqual(splitRevenue(revenue, { ...shares }))
      }),
      { numRuns: 1000 },
    )
  })
})
