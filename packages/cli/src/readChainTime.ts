import type { Provider } from 'ethers'

/**
 * The latest block's timestamp (unix seconds): the clock the contract's delays run on, which
 * is not the local clock (a test chain may be hours ahead).
 *
 * @example
 * const now = await readChainTime(chain.provider)
 */
export async function readChainTime(provider: Provider): Promise<bigint> {
  const block = await provider.getBlock('latest')
  return BigInt(block?.timestamp ?? Math.floor(Date.now() / 1000))
}
