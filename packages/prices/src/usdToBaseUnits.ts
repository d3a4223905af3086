import { InvalidDecimalError, InvalidDecimalsError } from './errors.js'
import { parseDecimal } from './parseDecimal.js'

export type UsdToBaseUnitsParameters = {
  /** A price in US dollars, as a decimal string (`"0.0375"`). */
  usd: string
  /** Payment tokens one US dollar buys, as a decimal string; `"1"` for a USD stablecoin. */
  usdRate?: string
  /** The payment token's decimals (6 for USDC, 18 for most ERC-20 tokens). */
  decimals: number
}

/**
 * Converts a US-dollar amount into payment-token base units exactly:
 * `usd × usdRate × 10^decimals`, computed on bigints. When the product is not a whole number
 * of base units it is rounded UP to the next one (a price is never lowered by conversion; it
 * rises by less than one base unit). Bad input throws a typed error (`INVALID_DECIMAL`,
 * `INVALID_DECIMALS`); so does a zero `usdRate`, which would price everything at nothing.
 *
 * @example
 * usdToBaseUnits({ usd: '0.0375', decimals: 6 })                    // 37_500n
 * usdToBaseUnits({ usd: '2.5', usdRate: '0.92', decimals: 6 })      // 2_300_000n (EURC-like)
 * usdToBaseUnits({ usd: '0.0375', decimals: 18 })                   // 37_500_000_000_000_000n
 */
export function usdToBaseUnits({ usd, usdRate = '1', decimals }: UsdToBaseUnitsParameters): bigint {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 255)
    throw new InvalidDecimalsError({ value: decimals })
  const price = parseDecimal(usd, 'usd')
  const rate = parseDecimal(usdRate, 'usdRate')
  if (rate.units === 0n)
    throw new InvalidDecimalError({ field: 'usdRate', value: usdRate, positive: true })
  const numerator = price.units * rate.units * 10n ** BigInt(decimals)
  const denominator = 10n ** BigInt(price.scale + rate.scale)
  return (numerator + denominator - 1n) / denominator
}
