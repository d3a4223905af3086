import type { ReceiptRecord } from './types.js'

/** A metered call's receipt, once checked: resolves with the record or rejects with the error. */
export type TrackedCall = { readonly result: Promise<ReceiptRecord> }

/** Responses (fetch `Response`, axios response objects) and abort signals of metered calls. */
export const callsByTarget = new WeakMap<object, TrackedCall>()
