import {
  type Address,
  decodeReceipt,
  encodeReceipt,
  type Hex,
  hashReceipt,
  type RmaDomain,
  type UsageReceipt,
} from '@rma/core'
import type { Wallet } from 'ethers'

/**
 * A receipt changed by `changes` and signed again by `signer` over the receipt's EIP-712 hash:
 * with the meter's own key, a validly signed lie; with another key, a forgery.
 *
 * @example
 * const forged = forgeReceipt(header, { outputTokens: 999 }, meterWallet, domain)
 */
export function forgeReceipt(
  encoded: string,
  changes: Partial<UsageReceipt>,
  signer: Wallet,
  domain: RmaDomain,
): string {
  const { signature: _, ...receipt } = decodeReceipt(encoded)
  const changed = { ...receipt, ...changes }
  const signature = signer.signingKey.sign(hashReceipt(changed, domain)).serialized as Hex
  return encodeReceipt({ ...changed, signature })
}

/** Replaces the inline receipt of a buffered event stream. */
export function replaceInlineReceipt(text: string, replace: (encoded: string) => string): string {
  return text.replace(
    /"receipt":"([A-Za-z0-9_-]+)"/,
    (_, encoded: string) => `"receipt":"${replace(encoded)}"`,
  )
}

export type { Address }
