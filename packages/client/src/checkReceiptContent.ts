import {
  type Hex,
  priceUsage,
  type SignedUsageReceipt,
  UnknownModelError,
  type Usage,
} from '@rma/core'
import {
  AttestationMismatchError,
  PriceMismatchError,
  PriceTableMismatchError,
  ReceiptBindingError,
  type ReceiptErrorContext,
  RequestHashMismatchError,
  ResponseHashMismatchError,
  SpendCapExceededError,
  UsageMismatchError,
} from './errors.js'
import type { ClientConfig } from './resolveClientConfig.js'
import type { Observation, ReceiptChecks } from './types.js'

/** What the client knows about the call a receipt is for. */
export type CallFacts = {
  requestHash: Hex
  /** The EIP-712 digest of the attestation sent with the call (`hashAttestation`). */
  attestation: Hex
  /** The request body, to read the requested model when the reported one is unpriced. */
  body: Uint8Array
  maxAmount: bigint
  /** Unix milliseconds when the call started. */
  startedAt: number
}

const usageFields = [
  'inputTokens',
  'cachedInputTokens',
  'cacheWriteTokens',
  'outputTokens',
  'reasoningTokens',
] as const

/**
 * Checks an authenticated receipt against its call: request hash, attestation digest, signing
 * time, response hash, usage and model against what the response reported, spend cap, price
 * table root (with `prices`) and price. Throws the matching `ReceiptError`; returns how each
 * check concluded. (Whether the table is committed on chain is checked after, asynchronously.)
 *
 * Usage rule: when the response reported usage, the receipt must equal it whatever its
 * `usageSource` says (an `estimated` label cannot hide reported tokens). Otherwise an
 * `estimated` or `partial` (aborted stream) receipt is accepted and flagged.
 *
 * @example
 * const checks = checkReceiptContent({ config, receipt, call, observed, aborted: false, context })
 */
export function checkReceiptContent(parameters: {
  config: ClientConfig
  receipt: SignedUsageReceipt
  call: CallFacts
  observed: Observation
  aborted: boolean
  context: ReceiptErrorContext
}): ReceiptChecks {
  const { config, receipt, call, observed, aborted } = parameters
  const context = { ...parameters.context, receipt }
  if (receipt.requestHash !== call.requestHash)
    throw new RequestHashMismatchError({
      ...context,
      expected: call.requestHash,
      actual: receipt.requestHash,
    })
  if (receipt.attestation.toLowerCase() !== call.attestation.toLowerCase())
    throw new AttestationMismatchError({
      ...context,
      expected: call.attestation,
      actual: receipt.attestation,
    })
  const earliest = Math.floor(call.startedAt / 1000) - config.clockSkew
  const latest = Math.ceil(Date.now() / 1000) + config.clockSkew
  if (receipt.timestamp < earliest || receipt.timestamp > latest)
    throw new ReceiptBindingError({
      ...context,
      field: 'timestamp',
      expected: `${earliest}..${latest}`,
      actual: String(receipt.timestamp),
    })
  let response: ReceiptChecks['response'] = 'matched'
  if (receipt.responseHash !== observed.responseHash) {
    if (!aborted)
      throw new ResponseHashMismatchError({
        ...context,
        expected: observed.responseHash,
        actual: receipt.responseHash,
      })
    response = 'unprovable'
  }
  const usage = checkUsage(receipt, observed, aborted, context)
  if (receipt.amount > call.maxAmount)
    throw new SpendCapExceededError({ ...context, cap: call.maxAmount, actual: receipt.amount })
  if (config.priceTables) {
    const expected = config.priceTables.rootAt(receipt.timestamp)
    if (receipt.priceTable.toLowerCase() !== expected)
      throw new PriceTableMismatchError({ ...context, expected, actual: receipt.priceTable })
  }
  return { usage, response, price: checkPrice(config, receipt, call, context) }
}

function checkUsage(
  receipt: SignedUsageReceipt,
  observed: Observation,
  aborted: boolean,
  context: ReceiptErrorContext,
): ReceiptChecks['usage'] {
  if (observed.model !== undefined && receipt.model !== observed.model)
    throw new UsageMismatchError({
      ...context,
      field: 'model',
      expected: observed.model,
      actual: receipt.model,
    })
  if (observed.usage) {
    for (const field of usageFields) {
      // A response that reports no cache writes reported 0 of them.
      const expected = observed.usage[field] ?? 0
      if (receipt[field] !== expected)
        throw new UsageMismatchError({ ...context, field, expected, actual: receipt[field] })
    }
    return 'matched'
  }
  if (receipt.usageSource === 'partial' && aborted) return 'partial'
  if (receipt.usageSource === 'estimated') return 'estimated'
  return 'unreported'
}

function checkPrice(
  config: ClientConfig,
  receipt: SignedUsageReceipt,
  call: CallFacts,
  context: ReceiptErrorContext,
): ReceiptChecks['price'] {
  if (!config.prices) return 'unchecked'
  const usage: Usage = receipt
  let expected: bigint | undefined
  // The meter prices the reported model, then the requested one (as `issueReceipt` does).
  for (const model of [receipt.model, requestedModel(call.body)]) {
    if (model === undefined) continue
    try {
      expected = priceUsage(config.prices, model, usage, { at: receipt.timestamp })
      break
    } catch (error) {
      if (!(error instanceof UnknownModelError)) throw error
    }
  }
  if (expected === undefined) {
    if (receipt.amount === 0n) return 'matched'
    throw new PriceMismatchError({
      ...context,
      expected: undefined,
      actual: receipt.amount,
      details: `Model "${receipt.model}" is not in the price table.`,
    })
  }
  const capped = expected > call.maxAmount
  if (capped) expected = call.maxAmount
  if (receipt.amount !== expected)
    throw new PriceMismatchError({ ...context, expected, actual: receipt.amount })
  return capped ? 'capped' : 'matched'
}

function requestedModel(body: Uint8Array): string | undefined {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(body)) as { model?: unknown }
    return typeof parsed.model === 'string' ? parsed.model : undefined
  } catch {
    return undefined
  }
}
