import { CliError } from './CliError.js'

export type Env = Record<string, string | undefined>

/**
 * A required value (an option or its variable) matching `pattern`; the error names the option
 * and the variable and what the value must be, never the value itself.
 *
 * @example
 * const contract = requireValue(context, 'contract', /^0x[0-9a-fA-F]{40}$/, 'an address')
 */
export function requireValue(
  options: Record<string, unknown>,
  name: string,
  env: string | undefined,
  pattern: RegExp,
  what: string,
): string {
  const value = options[name]
  const where = env ? `--${name} or ${env}` : `--${name}`
  if (typeof value !== 'string' || value === '')
    throw new CliError({ code: 'CONFIG', shortMessage: `${where} is not set: it must be ${what}.` })
  if (!pattern.test(value))
    throw new CliError({ code: 'CONFIG', shortMessage: `${where} must be ${what}.` })
  return value
}

/**
 * An amount in base units (a non-negative integer, bigint); decimals are refused with the
 * conversion spelled out.
 *
 * @example
 * parseAmount('1000000000', 'amount') // 1_000_000_000n
 */
export function parseAmount(value: string | undefined, name: string): bigint {
  if (value === undefined || value === '')
    throw new CliError({
      code: 'USAGE',
      shortMessage: `The ${name} is missing: give it in base units of the payment token.`,
    })
  if (!/^\d+$/.test(value))
    throw new CliError({
      code: 'USAGE',
      shortMessage: `The ${name} "${value}" is not an integer: amounts are base units (1.5 of a 6-decimal token is 1500000).`,
    })
  return BigInt(value)
}

/**
 * An integer option or variable of at least `min`, else `fallback`.
 *
 * @example
 * parseInteger(options.timeout, '--timeout', 10_000, 1)
 */
export function parseInteger(value: unknown, name: string, fallback: number, min = 0): number {
  if (value === undefined || value === '') return fallback
  const parsed = Number(value)
  if (!Number.isSafeInteger(parsed) || parsed < min)
    throw new CliError({
      code: 'USAGE',
      shortMessage: `${name} must be an integer of at least ${min}.`,
    })
  return parsed
}
