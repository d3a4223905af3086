import type { RmaClient } from './createRmaEngine.js'

export const rmaByFetch = new WeakMap<object, RmaClient>()

/**
 * The RMA side (`events`, `ledger`, `getReceipt`, `fetchReceipt`, `flushAcks`) of a client
 * wrapped by `withRMA` or `rmaAxios`, or of a client derived from one with `withOptions()`
 * (it inherits the attesting fetch). `undefined` for any other client.
 *
 * @example
 * const rma = getRMA(client.withOptions({ timeout: 5_000 }))
 * rma?.ledger.totals()
 */
export function getRMA(client: object): RmaClient | undefined {
  const own = (client as { rma?: RmaClient }).rma
  if (own) return own
  const fetch = (client as { fetch?: unknown }).fetch
  return typeof fetch === 'function' ? rmaByFetch.get(fetch) : undefined
}
