import type { Hex, UsageReceipt } from '@rma/core'
import { usageSourceCode } from './usageSourceCode.js'

/** A receipt as the settlement contract's `Receipt` tuple (the fraud proofs' argument). */
export type ReceiptStruct = {
  assetId: Hex
  meter: string
  user: string
  seq: bigint
  prev: Hex
  requestHash: Hex
  responseHash: Hex
  model: string
  inputTokens: bigint
  cachedInputTokens: bigint
  cacheWriteTokens: bigint
  outputTokens: bigint
  reasoningTokens: bigint
  usageSource: number
  amount: bigint
  cumulativeAmount: bigint
  priceTable: Hex
  attestation: Hex
  timestamp: bigint
}

/** A usage receipt of @rma/core (signed or not). */
export type ReceiptInput = UsageReceipt

/**
 * Turns a @rma/core usage receipt into the `Receipt` tuple of `proveEquivocation`,
 * `proveOvercharge` and `proveMispricing` (`usageSource` as its `uint8` code, counts as bigints).
 *
 * @example
 * await settlement.proveOvercharge(toReceiptStruct(receipt), receipt.signature, toAttestationStruct(att), att.signature)
 */
export function toReceiptStruct(receipt: ReceiptInput): ReceiptStruct {
  return {
    assetId: receipt.assetId,
    meter: receipt.meter,
    user: receipt.user,
    seq: BigInt(receipt.seq),
    prev: receipt.prev,
    requestHash: receipt.requestHash,
    responseHash: receipt.responseHash,
    model: receipt.model,
    inputTokens: BigInt(receipt.inputTokens),
    cachedInputTokens: BigInt(receipt.cachedInputTokens),
    cacheWriteTokens: BigInt(receipt.cacheWriteTokens),
    outputTokens: BigInt(receipt.outputTokens),
    reasoningTokens: BigInt(receipt.reasoningTokens),
    usageSource: usageSourceCode(receipt.usageSource),
    amount: receipt.amount,
    cumulativeAmount: receipt.cumulativeAmount,
    priceTable: receipt.priceTable,
    attestation: receipt.attestation,
    timestamp: BigInt(receipt.timestamp),
  }
}
