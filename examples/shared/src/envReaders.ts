import { resolve } from 'node:path'

export type Env = Record<string, string | undefined>

/**
 * Relative paths are taken from where the command was started (`INIT_CWD`, set by pnpm), not
 * from the package directory pnpm runs the script in, so examples started from the same place
 * share one database.
 *
 * @example
 * pathOf(process.env, './.rma/receipts.db')
 */
export function pathOf(env: Env, path: string): string {
  return resolve(env.INIT_CWD ?? process.cwd(), path)
}

/**
 * A required variable matching `pattern`; the error says what it must be, never its value.
 *
 * @example
 * required(process.env, 'RMA_ASSET_ID', /^0x[0-9a-fA-F]{64}$/, '32 bytes of 0x-hex')
 */
export function required(env: Env, name: string, pattern: RegExp, what: string): string {
  const value = env[name]
  if (!value) throw new Error(`${name} is not set: it must be ${what}.`)
  if (!pattern.test(value)) throw new Error(`${name} must be ${what}.`)
  return value
}

/**
 * An integer variable of at least `min`, or `fallback` when unset.
 *
 * @example
 * integer(process.env, 'PORT', 8787)
 */
export function integer(env: Env, name: string, fallback: number, min = 0): number {
  const value = env[name]
  if (!value) return fallback
  const parsed = Number(value)
  if (!Number.isSafeInteger(parsed) || parsed < min)
    throw new Error(`${name} must be an integer of at least ${min}.`)
  return parsed
}
