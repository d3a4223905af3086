import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { type BaseWallet, Wallet } from 'ethers'
import { CliError } from './CliError.js'
import type { Env } from './readEnv.js'

/**
 * A role's key from the environment, as the examples read it: `<PREFIX>_KEYSTORE` (an
 * encrypted JSON keystore, geth/ethers format) with `<PREFIX>_KEYSTORE_PASSWORD`, else
 * `<PREFIX>_PRIVATE_KEY`. Errors name the variable, never its value. `undefined` when neither
 * is set and `required` is false.
 *
 * @example
 * const supporter = await loadKey(env, 'RMA_SUPPORTER', { role: "the supporter's key", cwd })
 */
export async function loadKey(
  env: Env,
  prefix: string,
  options: { role: string; cwd: string; required: false },
): Promise<BaseWallet | undefined>
export async function loadKey(
  env: Env,
  prefix: string,
  options: { role: string; cwd: string; required?: true },
): Promise<BaseWallet>
export async function loadKey(
  env: Env,
  prefix: string,
  options: { role: string; cwd: string; required?: boolean },
): Promise<BaseWallet | undefined> {
  const keystore = env[`${prefix}_KEYSTORE`]
  if (keystore) {
    const json = await readFile(resolve(options.cwd, keystore), 'utf8').catch(() => {
      throw new CliError({
        code: 'CONFIG',
        shortMessage: `${prefix}_KEYSTORE: cannot read ${keystore}: check the path.`,
      })
    })
    try {
      return await Wallet.fromEncryptedJson(json, env[`${prefix}_KEYSTORE_PASSWORD`] ?? '')
    } catch {
      throw new CliError({
        code: 'CONFIG',
        shortMessage: `${prefix}_KEYSTORE could not be decrypted with ${prefix}_KEYSTORE_PASSWORD: check the password (and that the file is a keystore).`,
      })
    }
  }
  const key = env[`${prefix}_PRIVATE_KEY`]
  if (!key) {
    if (options.required === false) return undefined
    throw new CliError({
      code: 'CONFIG',
      shortMessage: `No key: set ${prefix}_KEYSTORE (+ ${prefix}_KEYSTORE_PASSWORD) or ${prefix}_PRIVATE_KEY to ${options.role}.`,
    })
  }
  try {
    return new Wallet(key)
  } catch {
    // No cause: the parser's error could quote the key.
    throw new CliError({
      code: 'CONFIG',
      shortMessage: `${prefix}_PRIVATE_KEY is not a valid private key (32 bytes of hex).`,
    })
  }
}
