import {
  type Address,
  expectedCumulativeAmount,
  hashReceipt,
  priceCall,
  type StoredReceipt,
  signReceipt,
  type Usage,
  type UsageSource,
} from '@rma/core'
import type { RmaRequestContext } from './RmaRequestContext.js'
import type { MeterConfig } from './resolveMeterConfig.js'

export type IssueReceiptParameters = {
  config: MeterConfig
  context: RmaRequestContext
  usage: Usage
  usageSource: UsageSource
  /** The model the upstream reported; the requested one when it reported none. */
  model: string
  responseHash: `0x${string}`
}

/**
 * Prices a call, signs its receipt as the next of the (meter, user) chain and stores it
 * durably; resolves once stored. The amount never exceeds the attestation's spend cap.
 *
 * @example
 * const stored = await issueReceipt({ config, context, usage, usageSource: 'reported', model, responseHash })
 */
export async function issueReceipt(
  parameters: IssueReceiptParameters,
): Promise<StoredReceipt & { capped: boolean }> {
  const { config, context, usage, usageSource, model, responseHash } = parameters
  const { signer, address } = await config.signer()
  const timestamp = config.now()
  // The shared rule the client checks with; an unpriced call (unknownModel 'free') costs 0.
  const { amount, capped } = priceCall({
    prices: config.prices,
    model,
    requestedModel: String(context.body.model ?? ''),
    usage,
    at: timestamp,
    maxAmount: context.maxAmount,
  })
  const stored = await config.store.append({
    id: context.id,
    assetId: config.assetId,
    meter: address,
    user: context.user as Address,
    sign: async (head) => {
      const receipt = await signReceipt({
        signer,
        domain: config.domain,
        receipt: {
          assetId: config.assetId,
          meter: address,
          user: context.user,
          seq: head.seq + 1,
          prev: head.hash,
          requestHash: context.requestHash,
          responseHash,
          model,
          ...usage,
          cacheWriteTokens: usage.cacheWriteTokens ?? 0,
          usageSource,
          amount,
          cumulativeAmount: expectedCumulativeAmount(head.cumulativeAmount, amount),
          priceTable: config.priceTables.rootAt(timestamp),
          attestation: context.attestationDigest,
          timestamp,
        },
      })
      return { receipt, hash: hashReceipt(receipt, config.domain) }
    },
  })
  return { ...stored, capped }
}
