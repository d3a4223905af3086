import { callsByTarget } from './callRegistry.js'
import { UnknownCallError } from './errors.js'
import type { ReceiptRecord } from './types.js'

/**
 * The checked receipt of one call. Pass the `Response` of `.withResponse()` / `.asResponse()`,
 * the `Stream` of a streaming call (or one of its `tee()` branches), or an axios response.
 * Resolves once the receipt passed every check: for a JSON call when the response arrived, for
 * a stream when it ended, for an aborted stream when the meter's partial receipt was fetched.
 * Rejects with the `ReceiptError` of a failed check (in both `onMismatch` modes).
 *
 * @example
 * const { data, response } = await client.chat.completions.create(params).withResponse()
 * const { receipt, checks } = await getReceipt(response)
 *
 * @example
 * const stream = await client.chat.completions.create({ ...params, stream: true })
 * for await (const chunk of stream) render(chunk)
 * const { receipt } = await getReceipt(stream)
 */
export function getReceipt(target: object): Promise<ReceiptRecord> {
  const direct = callsByTarget.get(target)
  if (direct) return direct.result
  const signal = (target as { controller?: { signal?: unknown } }).controller?.signal
  const bySignal =
    typeof signal === 'object' && signal !== null ? callsByTarget.get(signal) : undefined
  if (bySignal) return bySignal.result
  return Promise.reject(new UnknownCallError())
}
