import { describe, expect, it } from 'vitest'
import type { CatalogModel, CatalogPriceEntry } from './Catalog.js'
import { catalogModelPrices } from './catalogModelPrices.js'
import { InvalidCatalogError } from './errors.js'

const model = (prices: CatalogPriceEntry[]): CatalogModel => ({
  id: 'm',
  match: { equals: 'm' },
  aliases: [],
  prices,
})

describe('catalogModelPrices', () => {
  it('maps the source kinds to token kinds, leaving absent cache and reasoning prices to core', () => {
    expect(
      catalogModelPrices(
        model([
          {
            prices: {
              input_mtok: '3',
              cache_read_mtok: '0.3',
              cache_write_mtok: '3.75',
              output_mtok: '15',
              output_reasoning_mtok: '20',
            },
          },
        ]),
      ),
    ).toEqual([
      {
        effectiveFrom: 0,
        input: '3',
        cachedInput: '0.3',
        cacheWrite: '3.75',
        output: '15',
        reasoning: '20',
      },
    ])
    expect(catalogModelPrices(model([{ prices: { input_mtok: '0.02' } }]))).toEqual([
      { effectiveFrom: 0, input: '0.02', output: '0' },
    ])
  })

  it('takes the base tier of a tiered price', () => {
    expect(
      catalogModelPrices(
        model([
          {
            prices: {
              input_mtok: { base: '1.25', tiers: [{ start: 200_000, price: '2.5' }] },
              output_mtok: { base: '10', tiers: [{ start: 200_000, price: '15' }] },
            },
          },
        ]),
      ),
    ).toEqual([{ effectiveFrom: 0, input: '1.25', output: '10' }])
  })

  it('turns start dates into versions effective at 00:00 UTC', () => {
    expect(
      catalogModelPrices(
        model([
          { prices: { input_mtok: '10', output_mtok: '40' } },
          {
            constraint: { type: 'start_date', start_date: '2025-06-10' },
            prices: { input_mtok: '2', output_mtok: '8' },
          },
        ]),
      ),
    ).toEqual([
      { effectiveFrom: 0, input: '10', output: '40' },
      { effectiveFrom: 1_749_513_600, input: '2', output: '8' },
    ])
  })

  it('charges the highest price of the day where the source has daily windows', () => {
    const window = { type: 'time_of_date', start_time: '00:30:00Z', end_time: '16:30:00Z' } as const
    // DeepSeek's shape: the unconstrained (off-peak) price first, the peak window after it.
    expect(
      catalogModelPrices(
        model([
          { prices: { input_mtok: '0.135', cache_read_mtok: '0.035', output_mtok: '0.55' } },
          {
            constraint: window,
            prices: { input_mtok: '0.27', cache_read_mtok: '0.07', output_mtok: '1.1' },
          },
        ]),
      ),
    ).toEqual([
      {
        effectiveFrom: 0,
        input: '0.27',
        cachedInput: '0.07',
        cacheWrite: '0.27',
        output: '1.1',
        reasoning: '1.1',
      },
    ])
    // A window listed before a dated version is overridden by it (the source scans from the end).
    expect(
      catalogModelPrices(
        model([
          { prices: { input_mtok: '1', output_mtok: '1' } },
          { constraint: window, prices: { input_mtok: '5', output_mtok: '0.5' } },
          {
            constraint: { type: 'start_date', start_date: '2026-01-01' },
            prices: { input_mtok: '2', output_mtok: '2' },
          },
        ]),
      ),
    ).toEqual([
      {
        effectiveFrom: 0,
        input: '5',
        cachedInput: '5',
        cacheWrite: '5',
        output: '1',
        reasoning: '1',
      },
      { effectiveFrom: 1_767_225_600, input: '2', output: '2' },
    ])
  })

  it('prices no model that has no token price', () => {
    expect(catalogModelPrices(model([{ prices: {} }]))).toBeUndefined()
    expect(catalogModelPrices(model([]))).toBeUndefined()
    expect(catalogModelPrices(model([{ prices: { cache_read_mtok: '1' } }]))).toBeUndefined()
  })

  it('rejects a malformed start date with a typed error', () => {
    const call = () =>
      catalogModelPrices(
        model([
          { prices: { input_mtok: '1', output_mtok: '1' } },
          {
            constraint: { type: 'start_date', start_date: '2026-13-45' },
            prices: { input_mtok: '2', output_mtok: '2' },
          },
        ]),
      )
    expect(call).toThrow(InvalidCatalogError)
    expect(call).toThrow(
      'Catalog model "m" cannot be priced: start_date "2026-13-45" is not a YYYY-MM-DD date.',
    )
  })
})
