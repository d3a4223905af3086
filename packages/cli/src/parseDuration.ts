import { CliError } from './CliError.js'

const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/**
 * Seconds from `604800`, `7d`, `36h`, `90m` or `45s`.
 *
 * @example
 * parseDuration('7d', '--unbonding') // 604800
 */
export function parseDuration(value: string, name: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value)
  if (!match)
    throw new CliError({
      code: 'USAGE',
      shortMessage: `${name} must be seconds or a duration such as 7d, 36h, 90m.`,
    })
  return Number(match[1]) * (units[match[2] || 's'] ?? 1)
}
