import { readFile } from 'node:fs/promises'
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
 * Loads the meter's signing key. The key and the password are never logged, and errors name
 * the source that failed, not its content.
 *
 * @example
 * const signer = await loadMeterSigner({ keystore: { path: './meter.json', password: process.env.PW! } })
 */
export async function loadMeterSigner(source: MeterKeySource): Promise<Signer> {
  const env = source.env ?? process.env
  if (source.signer !== undefined)
    return typeof source.signer === 'string'
      ? fromPrivateKey(source.signer, 'the signer option')
      : source.signer
  const keystore =
    source.keystore ??
    (env.RMA_METER_KEYSTORE
      ? { path: env.RMA_METER_KEYSTORE, password: env.RMA_METER_KEYSTORE_PASSWORD ?? '' }
      : undefined)
  if (keystore) {
    const json =
      keystore.json ?? (keystore.path ? await readFile(keystore.path, 'utf8') : undefined)
    if (json === undefined) throw configError('The keystore option needs `json` or `path`.')
    try {
      return await Wallet.fromEncryptedJson(json, keystore.password)
    } catch (cause) {
      throw configError('The meter keystore could not be decrypted.', undefined, cause)
    }
  }
  if (env.RMA_METER_PRIVATE_KEY)
    return fromPrivateKey(env.RMA_METER_PRIVATE_KEY, 'RMA_METER_PRIVATE_KEY')
  throw configError(
    'No meter key.',
    'Pass `signer` or `keystore`, or set RMA_METER_PRIVATE_KEY or RMA_METER_KEYSTORE.',
  )
}

function fromPrivateKey(key: string, source: string): Signer {
  try {
    return new Wallet(key)
  } catch {
    // No cause: an error from the key parser could quote the key.
    throw configError(`The meter key from ${source} is not a valid private key.`)
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
