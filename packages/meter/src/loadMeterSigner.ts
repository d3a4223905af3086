import { readFileSync } from 'node:fs'
import { type Signer, Wallet } from 'ethers'
import { MeterError } from './errors.js'

/** Where the meter key comes from; checked in this order. */
export type MeterKeySource = {
  /** An ethers Signer (local, KMS, hardware) or a 0x private key. */
  signer?: Signer | string
  /** An encrypted JSON keystore (ethers / geth format), given inline or as a file path. */
  keystore?: { json?: string; path?: string; password: string }
  /** Environment: `RMA_METER_PRIVATE_KEY`, or `RMA_METER_KEYSTORE` (path) + `RMA_METER_KEYSTORE_PASSWORD`. */
  env?: Record<string, string | undefined>
}

/**
 * Loads the meter's signing key, synchronously, so a meter without a usable key fails when it
 * is constructed rather than on its first paid call. An encrypted keystore is decrypted here
 * (scrypt: this takes a moment, once, at startup). The key and the password are never logged,
 * and errors name the source that failed, not its content.
 *
 * @example
 * const signer = loadMeterSignerSync({ keystore: { path: './meter.json', password: process.env.PW! } })
 */
export function loadMeterSignerSync(source: MeterKeySource): Signer {
  const env = source.env ?? process.env
  if (source.signer !== undefined) {
    if (typeof source.signer === 'string') return fromPrivateKey(source.signer, 'the signer option')
    if (typeof (source.signer as Partial<Signer>).signTypedData !== 'function')
      throw configError('The signer option is neither an ethers Signer nor a 0x private key.')
    return source.signer
  }
  const keystore =
    source.keystore ??
    (env.RMA_METER_KEYSTORE
      ? { path: env.RMA_METER_KEYSTORE, password: env.RMA_METER_KEYSTORE_PASSWORD ?? '' }
      : undefined)
  if (keystore) {
    let json = keystore.json
    if (json === undefined && keystore.path !== undefined) {
      try {
        json = readFileSync(keystore.path, 'utf8')
      } catch (cause) {
        throw configError(
          `The meter keystore file ${keystore.path} cannot be read.`,
          undefined,
          cause,
        )
      }
    }
    if (json === undefined) throw configError('The keystore option needs `json` or `path`.')
    try {
      return Wallet.fromEncryptedJsonSync(json, keystore.password)
    } catch (cause) {
      throw configError(
        'The meter keystore could not be decrypted.',
        'Check the keystore file and its password (RMA_METER_KEYSTORE_PASSWORD).',
        cause,
      )
    }
  }
  if (env.RMA_METER_PRIVATE_KEY)
    return fromPrivateKey(env.RMA_METER_PRIVATE_KEY, 'RMA_METER_PRIVATE_KEY')
  throw configError(
    'No meter key.',
    'Pass `signer` or `keystore`, or set RMA_METER_PRIVATE_KEY or RMA_METER_KEYSTORE.',
  )
}

/**
 * {@link loadMeterSignerSync}, as a promise.
 *
 * @example
 * const signer = await loadMeterSigner({ env: process.env })
 */
export async function loadMeterSigner(source: MeterKeySource): Promise<Signer> {
  return loadMeterSignerSync(source)
}

function fromPrivateKey(key: string, source: string): Signer {
  try {
    return new Wallet(key)
  } catch {
    // No cause: an error from the key parser could quote the key.
    throw configError(
      `The meter key from ${source} is not a valid private key.`,
      'It must be 32 bytes of 0x-prefixed hex.',
    )
  }
}

function configError(message: string, details?: string, cause?: unknown): MeterError {
  return new MeterError({
    status: 500,
    type: 'server_error',
    code: 'rma_meter_key',
    message,
    details,
    cause,
  })
}
