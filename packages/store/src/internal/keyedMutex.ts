/** Runs async work one at a time per key; work under different keys runs concurrently. */
export type KeyedMutex = {
  run<T>(key: string, work: () => Promise<T>): Promise<T>
}

/**
 * A FIFO lock per key. Entries exist only while a key has work queued, so memory follows the
 * number of busy keys, not the number of keys ever seen.
 */
export function createKeyedMutex(): KeyedMutex {
  const tails = new Map<string, Promise<void>>()
  return {
    async run(key, work) {
      const previous = tails.get(key)
      let release!: () => void
      const current = new Promise<void>((resolve) => {
        release = resolve
      })
      tails.set(key, current)
      try {
        // `previous` is a release promise: it never rejects.
        if (previous) await previous
        return await work()
      } finally {
        release()
        if (tails.get(key) === current) tails.delete(key)
      }
    },
  }
}
