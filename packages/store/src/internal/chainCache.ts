/** What the head cache needs of a chain's state. */
export type CachedChain = { key: string; broken: boolean; pending: number }

/** Most chains whose head stays cached; past it, idle chains are dropped oldest first. */
export const maxCachedChains = 100_000

/**
 * The in-memory chain heads of a store: bounded, and never dropping a chain with appends in
 * flight. Both durable stores keep one; a broken chain is dropped so the next append reloads
 * its head from the database.
 */
export function createChainCache<C extends CachedChain>() {
  const chains = new Map<string, C>()
  return {
    get: (key: string) => chains.get(key),
    clear: () => chains.clear(),
    add(chain: C): C {
      chains.set(chain.key, chain)
      if (chains.size > maxCachedChains)
        for (const [key, cached] of chains) {
          if (chains.size <= maxCachedChains) break
          if (cached.pending === 0 && key !== chain.key) chains.delete(key)
        }
      return chain
    },
    break(chain: C): void {
      chain.broken = true
      if (chains.get(chain.key) === chain) chains.delete(chain.key)
    },
  }
}
