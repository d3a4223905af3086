/**
 * Maps with at most `limit` calls in flight, keeping the order: bounded sockets and memory
 * against an RPC node or a batch host, whatever the number of epochs or supporters.
 *
 * @example
 * const files = await mapLimit(epochs, 4, (e) => fetchBatchFile(e.batchUri))
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!, i)
    }
  })
  await Promise.all(workers)
  return out
}
