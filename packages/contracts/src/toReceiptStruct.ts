import type { Hex, UsageReceipt } from '@rma/core'
import { usageSourceCode } from './usageSourceCode.js'

const zero32 = `0x${'00'.repeat(32)}` as Hex

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

/** A receipt of @rma/core, with the fields a receipt gains for fraud proofs (0 / zero bytes when absent). */
export type ReceiptInput = UsageReceipt &
  Partial<{ cacheWriteTokens: number; priceTable: Hex; attestation: Hex }>

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
    cacheWriteTokens: BigInt(receipt.cacheWriteTokens ?? 0),
    outputTokens: BigInt(receipt.outputTokens),
    reasoningTokens: BigInt(receipt.reasoningTokens),
    usageSource: usageSourceCode(receipt.usageSource),
    amount: receipt.amount,
    cumulativeAmount: receipt.cumulativeAmount,
    priceTable: receipt.priceTable ?? zero32,
    attestation: receipt.attestation ?? zero32,
    timestamp: BigInt(receipt.timestamp),
  }
}
