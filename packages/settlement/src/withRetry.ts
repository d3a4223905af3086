import { RpcUnavailableError } from './errors.js'

export type RetryOptions = {
  /** Attempts in all, the first included (default 5). */
  attempts?: number
  /** Delay before the second attempt; doubles each time (default 250 ms). */
  baseDelayMs?: number
}

/**
 * Runs an RPC step again with exponential backoff while it fails for a reason that can pass
 * (connection refused or reset, timeout, nonce race, dropped transaction); a revert or a bad
 * argument fails at once. After the last attempt the error is a typed
 * `RpcUnavailableError` (`RPC_UNAVAILABLE`) keeping the cause.
 *
 * @example
 * const epoch = await withRetry(() => contract.getAsset(assetId), { attempts: 5 })
 */
export async function withRetry<T>(step: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5
  const base = options.baseDelayMs ?? 250
  for (let attempt = 1; ; attempt++) {
    try {
      return await step()
    } catch (error) {
      if (!isTransient(error)) throw error
      if (attempt >= attempts)
        throw new RpcUnavailableError({
          shortMessage: `The chain did not answer after ${attempts} attempts.`,
          cause: error,
        })
      await new Promise((resolve) => setTimeout(resolve, base * 2 ** (attempt - 1)))
    }
  }
}

/** Whether an error can pass by itself: network trouble, timeouts, nonce races. */
export function isTransient(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined
  const code = String(e?.code ?? '')
  if (
    [
      'NETWORK_ERROR',
      'TIMEOUT',
      'SERVER_ERROR',
      'NONCE_EXPIRED',
      'REPLACEMENT_UNDERPRICED',
      'ECONNREFUSED',
      'ECONNRESET',
      'UND_ERR_SOCKET',
    ].includes(code)
  )
    return true
  const message = String(e?.message ?? '')
  if (/ECONNREFUSED|ECONNRESET|socket hang up|fetch failed|nonce too low|timeout/i.test(message))
    return true
  return e?.cause !== undefined && e.cause !== error && isTransient(e.cause)
}
