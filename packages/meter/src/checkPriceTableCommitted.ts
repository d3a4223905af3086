import type { Address, Hex } from '@rma/core'
import { Interface } from 'ethers'
import { MeterError } from './errors.js'

const settlement = new Interface([
  'function priceTableOf(bytes32 assetId, bytes32 root) view returns (uint64 version, uint64 effectiveFrom)',
])

export type PriceTableCommitments = {
  /**
   * Resolves when `root` is committed for the asset on chain (`priceTableOf` version ≠ 0);
   * rejects with {@link MeterError} 503 `rma_price_table_not_committed` otherwise. Committed
   * roots are remembered (a commitment cannot be undone); others are asked again each time.
   */
  check(root: Hex, effectiveFrom: number): Promise<void>
}

/**
 * Reads price-table commitments from the settlement contract over JSON-RPC (`eth_call`), for a
 * meter with `requireCommittedPrices`.
 *
 * @example
 * await createPriceTableCommitments({ rpcUrl, settlementContract, assetId }).check(root, 0)
 */
export function createPriceTableCommitments(parameters: {
  rpcUrl: string
  settlementContract: Address
  assetId: Hex
  fetch?: typeof fetch
}): PriceTableCommitments {
  const { rpcUrl, settlementContract, assetId } = parameters
  const doFetch = parameters.fetch ?? fetch
  const committed = new Set<string>()
  return {
    async check(root, effectiveFrom) {
      if (committed.has(root)) return
      let version: bigint
      try {
        const data = settlement.encodeFunctionData('priceTableOf', [assetId, root])
        const res = await doFetch(rpcUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'eth_call',
            params: [{ to: settlementContract, data }, 'latest'],
          }),
        })
        const reply = (await res.json()) as { result?: string; error?: { message?: string } }
        if (typeof reply.result !== 'string') throw new Error(reply.error?.message ?? 'no result')
        version = settlement.decodeFunctionResult('priceTableOf', reply.result)[0] as bigint
      } catch (cause) {
        throw new MeterError({
          status: 503,
          type: 'server_error',
          code: 'rma_price_table_not_committed',
          message: `Cannot read whether price table ${root} is committed (priceTableOf on ${settlementContract}).`,
          details:
            'Check rpcUrl and that settlementContract has price tables, or turn requireCommittedPrices off.',
          cause,
        })
      }
      if (version === 0n)
        throw new MeterError({
          status: 503,
          type: 'server_error',
          code: 'rma_price_table_not_committed',
          message: `The price table in force (root ${root}, effective from ${effectiveFrom}) is not committed for asset ${assetId}.`,
          details:
            'The issuer commits it with `rma asset commit-prices` (or commitPriceTable of @rma/settlement); calls are refused until then.',
        })
      committed.add(root)
    },
  }
}
