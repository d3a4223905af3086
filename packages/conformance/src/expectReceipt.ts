import type { PriceTable } from '@rma/core'
import {
  hashBytes,
  priceCall,
  type ReceiptStore,
  type RmaDomain,
  type SignedUsageReceipt,
  type Usage,
  verifyReceipt,
} from '@rma/core'
import type { Wallet } from 'ethers'
import { expect } from 'vitest'

/** What a conformance case knows a receipt must say. */
export type ExpectReceiptParameters = {
  receipt: SignedUsageReceipt
  /** The call id (`rma-receipt-id`): the receipt must be the one stored under it. */
  id: string | null
  store: ReceiptStore
  domain: RmaDomain
  prices: PriceTable
  user: Wallet
  /** The `model` of the request body. */
  requestedModel: string
  /** The usage the upstream billed, in the receipt's semantics; omitted for partial receipts. */
  usage?: Required<Usage>
  usageSource?: SignedUsageReceipt['usageSource']
  /** The body bytes delivered (without an inline receipt frame): the receipt's responseHash. */
  delivered?: Uint8Array
}

/**
 * Asserts a receipt is the meter's answer to one call: signed for the domain, for the caller,
 * priced exactly as `priceCall` prices its usage (above 0), carrying the billed usage and the
 * hash of the delivered bytes, and stored durably under the call id, alone in the user's chain.
 *
 * @example
 * await expectReceipt({ receipt, id, store, domain, prices, user, requestedModel: 'gpt-4o-mini', usage })
 */
export async function expectReceipt(parameters: ExpectReceiptParameters): Promise<void> {
  const { receipt, store, user } = parameters
  expect(verifyReceipt({ receipt, domain: parameters.domain })).toBe(true)
  expect(receipt.user).toBe(user.address.toLowerCase())
  expect(receipt.usageSource).toBe(parameters.usageSource ?? 'reported')
  if (parameters.usage)
    expect({
      inputTokens: receipt.inputTokens,
      cachedInputTokens: receipt.cachedInputTokens,
      cacheWriteTokens: receipt.cacheWriteTokens,
      outputTokens: receipt.outputTokens,
      reasoningTokens: receipt.reasoningTokens,
    }).toEqual(parameters.usage)
  const priced = priceCall({
    prices: parameters.prices,
    model: receipt.model,
    requestedModel: parameters.requestedModel,
    usage: receipt,
    at: receipt.timestamp,
  })
  expect(priced.pricedAs).toBeDefined()
  expect(receipt.amount).toBe(priced.amount)
  expect(receipt.amount).toBeGreaterThan(0n)
  expect(receipt.seq).toBe(1)
  expect(receipt.cumulativeAmount).toBe(receipt.amount)
  if (parameters.delivered) expect(receipt.responseHash).toBe(hashBytes(parameters.delivered))
  expect(parameters.id).toBeTruthy()
  const stored = await store.get(parameters.id!)
  expect(stored?.receipt).toEqual(receipt)
  expect(await store.listByUser({ user: user.address as `0x${string}` })).toHaveLength(1)
}
