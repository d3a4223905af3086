import { BaseError } from '@rma/core'
import { MeterError } from './errors.js'

/**
 * Runs one store call for a request and turns its failure into an OpenAI-shaped answer: an ack
 * naming no stored receipt (`ACK_UNKNOWN_RECEIPT`) is the caller's mistake (404), anything
 * else means the store cannot serve right now (503). The store's own message stays in `cause`
 * only: it may name files or hosts.
 *
 * @example
 * const fresh = await storeCall(() => store.claimNonce({ assetId, user, nonce, keepUntil }))
 */
export async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof MeterError) throw error
    if (error instanceof BaseError && error.code === 'ACK_UNKNOWN_RECEIPT')
      throw new MeterError({
        status: 404,
        type: 'invalid_request_error',
        code: 'rma_ack_unknown_receipt',
        message:
          'The ack names no stored receipt of its chain (asset, meter, user, seq and cumulative amount).',
        cause: error,
      })
    throw new MeterError({
      status: 503,
      type: 'server_error',
      code: 'rma_store_unavailable',
      message: 'The meter cannot reach its receipt store right now; nothing was forwarded.',
      cause: error,
    })
  }
}
