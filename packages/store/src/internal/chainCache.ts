/** What the head cache needs of a chain's state. */
export type CachedChain = { key: string; pending: number; inFlight: number }

/** Most chains whose head stays cached; past it, idle chains are dropped oldest first. */
export const maxCachedChains = 100_000

/**
 * The in-memory chain heads of the group-commit engine: bounded, and never dropping a chain
 * that an append is using (signing, or waiting for its receipt's commit).
 */
export function createChainCache<C extends CachedChain>() {
  const chains = new Map<string, C>()
  return {
    get: (key: string) => chains.get(key),
    add(chain: C): C {
      chains.set(chain.key, chain)
      if (chains.size > maxCachedChains)
        for (const [key, cached] of chains) {
          if (chains.size <= maxCachedChains) break
          if (cached.pending === 0 && cached.inFlight === 0 && key !== chain.key) chains.delete(key)
        }
      return chain
    },
  }
}
