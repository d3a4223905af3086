import { type AppendReceiptParameters, BaseError, type ReceiptStore } from '@rma/core'

/** A store wrapped so a test can make it fail, and what it has been made to do. */
export type BreakableStore = ReceiptStore & {
  /**
   * `writable: false`: `checkWritable` and `append` reject, as a store that lost its disk;
   * `appends: false`: only `append` rejects (the store broke after the check, mid-call).
   */
  state: { writable: boolean; appends: boolean }
}

/**
 * Wraps a real store (SQLite here) so its writes can be made to fail with
 * `STORE_UNAVAILABLE`, the error the SQL stores raise when they cannot write.
 *
 * @example
 * const store = createBreakableStore(createSqliteStore({ path }))
 * store.state.appends = false
 */
export function createBreakableStore(store: ReceiptStore): BreakableStore {
  const state = { writable: true, appends: true }
  const unavailable = () => new BaseError('The store cannot write.', { code: 'STORE_UNAVAILABLE' })
  return {
    ...store,
    // Methods of the SQL stores are closures, not bound to `this`: spreading keeps them working.
    checkWritable: () => (state.writable ? store.checkWritable() : Promise.reject(unavailable())),
    append: (parameters: AppendReceiptParameters) =>
      state.writable && state.appends ? store.append(parameters) : Promise.reject(unavailable()),
    state,
  }
}
