import { readFile } from 'node:fs/promises'
import { type BaseWallet, Wallet } from 'ethers'

/**
 * A key from the environment, without ever printing it: `<PREFIX>_KEYSTORE` (an encrypted JSON
 * keystore file, geth/ethers format) with `<PREFIX>_KEYSTORE_PASSWORD`, else
 * `<PREFIX>_PRIVATE_KEY`. `undefined` when neither is set. Errors name the variable, never
 * its value.
 *
 * @example
 * const user = await loadWallet(process.env, 'RMA_USER') // RMA_USER_KEYSTORE or RMA_USER_PRIVATE_KEY
 */
export async function loadWallet(
  env: Record<string, string | undefined>,
  prefix: string,
): Promise<BaseWallet | undefined> {
  const keystore = env[`${prefix}_KEYSTORE`]
  if (keystore) {
    const json = await readFile(keystore, 'utf8').catch(() => {
      throw new Error(`${prefix}_KEYSTORE: cannot read ${keystore}.`)
    })
    try {
      return await Wallet.fromEncryptedJson(json, env[`${prefix}_KEYSTORE_PASSWORD`] ?? '')
    } catch {
      throw new Error(`${prefix}_KEYSTORE could not be decrypted with ${prefix}_KEYSTORE_PASSWORD.`)
    }
  }
  const key = env[`${prefix}_PRIVATE_KEY`]
  if (!key) return undefined
  try {
    return new Wallet(key)
  } catch {
    // No cause: the parser's error could quote the key.
    throw new Error(`${prefix}_PRIVATE_KEY is not a valid private key.`)
  }
}
