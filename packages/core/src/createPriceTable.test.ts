import { describe, expect, test } from 'vitest'
import { createPriceTable } from './createPriceTable.js'
import { InvalidPriceTableError } from './errors.js'
import { thrown } from './testing/thrown.js'

function expectTableError(fn: () => unknown, message: string) {
  const error = thrown(fn)
  expect(error).toBeInstanceOf(InvalidPriceTableError)
  expect(error).toMatchObject({
    name: 'InvalidPriceTableError',
    code: 'INVALID_PRICE_TABLE',
    shortMessage: message,
    details: undefined,
    message,
  })
}

describe('createPriceTable', () => {
  test('a single price is one version in force since 0, with cachedInput, cacheWrite and reasoning defaulted', () => {
    const table = createPriceTable({
      models: { 'gpt-4o': { input: 2_500_000n, output: 10_000_000n } },
    })
    expect(table.models.get('gpt-4o')).toEqual([
      {
        effectiveFrom: 0,
        input: 2_500_000n,
        cachedInput: 2_500_000n,
        cacheWrite: 2_500_000n,
        output: 10_000_000n,
        reasoning: 10_000_000n,
      },
    ])
    expect(table.aliases.size).toBe(0)
  })

  test('explicit cachedInput, cacheWrite and reasoning prices are kept', () => {
    const table = createPriceTable({
      models: {
        o3: {
          input: 2_000_000n,
          cachedInput: 500_000n,
          cacheWrite: 2_500_000n,
          output: 8_000_000n,
          reasoning: 9_000_000n,
        },
      },
    })
    expect(table.models.get('o3')).toEqual([
      {
        effectiveFrom: 0,
        input: 2_000_000n,
        cachedInput: 500_000n,
        cacheWrite: 2_500_000n,
        output: 8_000_000n,
        reasoning: 9_000_000n,
      },
    ])
  })

  test('accepts bigint, safe-integer number and decimal-string prices alike', () => {
    const fromBigint = createPriceTable({
      models: { m: { input: 2_500_000n, cachedInput: 0n, cacheWrite: 7n, output: 10n } },
    })
    const fromNumber = createPriceTable({
      models: { m: { input: 2_500_000, cachedInput: 0, cacheWrite: 7, output: 10 } },
    })
    const fromString = createPriceTable({
      models: { m: { input: '2500000', cachedInput: '0', cacheWrite: '7', output: '10' } },
    })
    const expected = [
      {
        effectiveFrom: 0,
        input: 2_500_000n,
        cachedInput: 0n,
        cacheWrite: 7n,
        output: 10n,
        reasoning: 10n,
      },
    ]
    expect(fromBigint.models.get('m')).toEqual(expected)
    expect(fromNumber.models.get('m')).toEqual(expected)
    expect(fromString.models.get('m')).toEqual(expected)
  })

  test('a decimal string beyond 2^53 stays exact', () => {
    const table = createPriceTable({
      models: { m: { input: '123456789012345678901234567890', output: 1 } },
    })
    expect(table.models.get('m')![0]!.input).toBe(123_456_789_012_345_678_901_234_567_890n)
  })

  test('price versions are sorted by effectiveFrom', () => {
    const table = createPriceTable({
      models: {
        m: [
          { effectiveFrom: 2000, input: 3n, output: 4n },
          { effectiveFrom: 1000, input: 1n, output: 2n },
        ],
      },
    })
    expect(table.models.get('m')!.map((v) => [v.effectiveFrom, v.input, v.output])).toEqual([
      [1000, 1n, 2n],
      [2000, 3n, 4n],
    ])
  })

  test('aliases to priced models are kept', () => {
    const table = createPriceTable({
      models: { 'gpt-4o-mini': { input: 150_000n, output: 600_000n } },
      aliases: { 'my-finetune': 'gpt-4o-mini' },
    })
    expect([...table.aliases]).toEqual([['my-finetune', 'gpt-4o-mini']])
  })
})

describe('createPriceTable errors', () => {
  test('a negative price', () => {
    expectTableError(
      () => createPriceTable({ models: { m: { input: -1n, output: 1n } } }),
      'Model "m": input price must be a non-negative integer of base units, got -1.',
    )
    expectTableError(
      () => createPriceTable({ models: { m: { input: 1, output: -5 } } }),
      'Model "m": output price must be a non-negative integer of base units, got -5.',
    )
    expectTableError(
      () => createPriceTable({ models: { m: { input: 1, output: 1, cachedInput: '-5' } } }),
      'Model "m": cachedInput price must be a non-negative integer of base units, got -5.',
    )
    expectTableError(
      () => createPriceTable({ models: { m: { input: 1, output: 1, cacheWrite: -3n } } }),
      'Model "m": cacheWrite price must be a non-negative integer of base units, got -3.',
    )
  })

  test('a fractional or unsafe number price', () => {
    expectTableError(
      () => createPriceTable({ models: { m: { input: 2.5, output: 1 } } }),
      'Model "m": input price must be a non-negative integer of base units, got 2.5.',
    )
    expectTableError(
      () => createPriceTable({ models: { m: { input: 1, output: 1, reasoning: 2 ** 53 } } }),
      'Model "m": reasoning price must be a non-negative integer of base units, got 9007199254740992.',
    )
    expectTableError(
      () => createPriceTable({ models: { m: { input: Number.NaN, output: 1 } } }),
      'Model "m": input price must be a non-negative integer of base units, got NaN.',
    )
  })

  test('a non-decimal string price', () => {
    for (const value of ['2.5', '1e6', '0x10', ' 5', '', '5n'])
      expectTableError(
        () => createPriceTable({ models: { m: { input: value, output: 1 } } }),
        `Model "m": input price must be a non-negative integer of base units, got ${value}.`,
      )
  })

  test('a missing price', () => {
    expectTableError(
      () => createPriceTable({ models: { m: { input: 1 } as never } }),
      'Model "m": output price must be a non-negative integer of base units, got undefined.',
    )
  })

  test('two versions with the same effectiveFrom', () => {
    expectTableError(
      () =>
        createPriceTable({
          models: {
            m: [
              { effectiveFrom: 100, input: 1n, output: 1n },
              { effectiveFrom: 50, input: 1n, output: 1n },
              { effectiveFrom: 100, input: 2n, output: 2n },
            ],
          },
        }),
      'Model "m" has two prices effective from 100.',
    )
  })

  test('an empty version list', () => {
    expectTableError(
      () => createPriceTable({ models: { m: [] } }),
      'Model "m" has no price version.',
    )
  })

  test('an effectiveFrom that is not unix seconds', () => {
    for (const effectiveFrom of [-1, 1.5, Number.NaN])
      expectTableError(
        () => createPriceTable({ models: { m: [{ effectiveFrom, input: 1n, output: 1n }] } }),
        'Model "m": effectiveFrom must be unix seconds.',
      )
  })

  test('an alias to an unpriced model', () => {
    expectTableError(
      () =>
        createPriceTable({
          models: { 'gpt-4o': { input: 1n, output: 1n } },
          aliases: { 'my-finetune': 'gpt-4o-mini' },
        }),
      'Alias "my-finetune" points to unpriced model "gpt-4o-mini".',
    )
  })
})
