/**
 * Remembers attestation nonces until they expire, so a captured attestation cannot be replayed.
 * One process keeps them in memory; several meter processes behind one load balancer can pass
 * their own implementation (for example on Redis with `SET key NX EXAT expiry`).
 */
export type NonceCache = {
  /** True the first time a (user, nonce) is seen before `expiry` (unix seconds); false on replay. */
  claim(user: string, nonce: bigint, expiry: number): boolean | Promise<boolean>
}

/**
 * The in-memory nonce cache. Entries are dropped once expired; the meter refuses attestations
 * expiring further ahead than its `maxAttestationTtl`, which bounds the memory this takes.
 *
 * @example
 * rmaMeter({ ..., nonceCache: createNonceCache() })
 */
export function createNonceCache(options: { now?: () => number } = {}): NonceCache {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000))
  const seen = new Map<string, number>()
  let nextSweep = 0
  return {
    claim(user, nonce, expiry) {
      const t = now()
      if (t >= nextSweep) {
        for (const [key, until] of seen) if (until < t) seen.delete(key)
        nextSweep = t + 30
      }
      const key = `${user.toLowerCase()}:${nonce}`
      const until = seen.get(key)
      if (until !== undefined && until >= t) return false
      seen.set(key, expiry)
      return true
    },
  }
}
