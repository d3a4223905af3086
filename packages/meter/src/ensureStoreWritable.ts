import type { ReceiptStore } from '@rma/core'
import { MeterError } from './errors.js'

/**
 * How long a successful `checkWritable()` answers for every call that asks (milliseconds).
 * Concurrent calls share one check in flight, so a burst costs the store one check, not one per
 * call; a failure is never reused, so the first call after the store recovers is served.
 */
const reuseSuccessMs = 100

type Check = { at: number; result: Promise<void> }
const checks = new WeakMap<ReceiptStore, Check>()

/**
 * Checks that the store can durably write before a paid call is forwarded upstream; when it
 * cannot, rejects with 503 `rma_store_unavailable` (nothing is forwarded: a response the meter
 * could not record would only be withheld later).
 *
 * @example
 * await ensureStoreWritable(config.store)
 */
export async function ensureStoreWritable(store: ReceiptStore): Promise<void> {
  const now = performance.now()
  let check = checks.get(store)
  if (!check || now - check.at > reuseSuccessMs) {
    check = { at: now, result: store.checkWritable() }
    checks.set(store, check)
    const current = check
    // A failed check is forgotten at once, so it answers only the calls that shared it.
    current.result.catch(() => {
      if (checks.get(store) === current) checks.delete(store)
    })
  }
  try {
    await check.result
  } catch (error) {
    throw new MeterError({
      status: 503,
      type: 'server_error',
      code: 'rma_store_unavailable',
      message: 'The meter cannot store receipts right now, so it serves no paid call. Retry later.',
      cause: error,
    })
  }
}
