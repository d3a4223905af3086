import type { PriceTable } from './createPriceTable.js'
import { UnknownModelError } from './errors.js'
import { priceUsage } from './priceUsage.js'
import type { Usage } from './types.js'

export type PriceCallParameters = {
  prices: PriceTable
  /** The model the response reported (the receipt's `model`). */
  model: string | undefined
  /** The model the request body asked for. */
  requestedModel: string | undefined
  usage: Usage
  /** Unix seconds: the receipt's timestamp, which picks the price version in force. */
  at: number
  /** The attestation's spend cap; `undefined` when the call has none (custodial users). */
  maxAmount?: bigint | undefined
}

export type PriceCallReturnType = {
  /** What the receipt must carry, in base units: the price, or `maxAmount` when that is lower. */
  amount: bigint
  /** The price exceeded `maxAmount`, so `amount` is the cap. */
  capped: boolean
  /** The name the price was found under; `undefined` when neither model is priced (`amount` 0). */
  pricedAs: string | undefined
}

/**
 * The amount a call's receipt carries: the one pricing rule the meter signs with and the client
 * checks with.
 * - The reported model is priced first (the served snapshot may cost more or less than the
 *   name asked for), then the requested one when the reported one is unpriced.
 * - Unknown-model policy: when neither is priced the amount is 0 (`pricedAs` undefined). The
 *   meter refuses such calls before forwarding them unless it runs with `unknownModel: 'free'`,
 *   so an unpriced receipt with an amount above 0 is always wrong.
 * - The amount never exceeds the attestation's `maxAmount`: above it, the cap is charged
 *   (`capped`), never more than the user signed for.
 * Other pricing errors (a malformed usage) are thrown.
 *
 * @example
 * const { amount, capped } = priceCall({ prices, model: 'gpt-4o-mini-2024-07-18', requestedModel: 'gpt-4o-mini', usage, at, maxAmount })
 */
export function priceCall(parameters: PriceCallParameters): PriceCallReturnType {
  const { prices, usage, at, maxAmount } = parameters
  for (const name of [parameters.model, parameters.requestedModel]) {
    if (name === undefined || name === '') continue
    let price: bigint
    try {
      price = priceUsage(prices, name, usage, { at })
    } catch (error) {
      if (error instanceof UnknownModelError) continue
      throw error
    }
    const capped = maxAmount !== undefined && price > maxAmount
    return { amount: capped ? maxAmount : price, capped, pricedAs: name }
  }
  return { amount: 0n, capped: false, pricedAs: undefined }
}
