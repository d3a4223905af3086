import { randomUUID } from 'node:crypto'
import {
  type Address,
  expectedCumulativeAmount,
  type Hex,
  hashReceipt,
  type ReceiptStore,
  type RmaDomain,
  signReceipt,
} from '@rma/core'
import type { Wallet } from 'ethers'

/**
 * Appends `count` receipts of one (asset, meter, user) chain to a store, signed by the meter
 * key as the meter signs them: receipts for an asset no test provider meters.
 *
 * @example
 * await appendReceipts(store, { domain, assetId, meter, user, count: 3 })
 */
export async function appendReceipts(
  store: ReceiptStore,
  parameters: { domain: RmaDomain; assetId: Hex; meter: Wallet; user: Address; count: number },
): Promise<void> {
  const { domain, assetId, meter, user } = parameters
  for (let i = 0; i < parameters.count; i++)
    await store.append({
      assetId,
      meter: meter.address as Address,
      user,
      id: randomUUID(),
      async sign(head) {
        const receipt = await signReceipt({
          signer: meter,
          domain,
          receipt: {
            assetId,
            meter: meter.address as Address,
            user,
            seq: head.seq + 1,
            prev: head.hash,
            requestHash: `0x${'11'.repeat(32)}`,
            responseHash: `0x${'22'.repeat(32)}`,
            model: 'gpt-4o-mini',
            inputTokens: 10,
            cachedInputTokens: 0,
            outputTokens: 20,
            reasoningTokens: 0,
            usageSource: 'reported',
            amount: 1_000n,
            cumulativeAmount: expectedCumulativeAmount(head.cumulativeAmount, 1_000n),
            timestamp: Math.floor(Date.now() / 1000),
          },
        })
        return { receipt, hash: hashReceipt(receipt, domain) }
      },
    })
}
