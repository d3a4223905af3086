import { InvalidDecimalError } from './errors.js'

/** An exact non-negative decimal: `units / 10^scale`. */
export type Decimal = { units: bigint; scale: number }

const decimalText = /^(\d+)(?:\.(\d+))?$/

/**
 * Parses a non-negative decimal string exactly (`"0.0375"` → `{ units: 375n, scale: 4 }`):
 * no float is ever made. Anything else (a number, a sign, an exponent, spaces, an empty
 * fraction) throws {@link InvalidDecimalError} naming `field`.
 *
 * @example
 * parseDecimal('2.50', 'usdRate') // { units: 250n, scale: 2 }
 */
export function parseDecimal(text: unknown, field: string): Decimal {
  const match = typeof text === 'string' ? decimalText.exec(text) : null
  if (!match) throw new InvalidDecimalError({ field, value: text })
  const [, int = '', frac = ''] = match
  return { units: BigInt(int + frac), scale: frac.length }
}
