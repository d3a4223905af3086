import { randomBytes } from 'node:crypto'
import {
  type Address,
  type AppendReceiptParameters,
  createDomain,
  type Hex,
  hashReceipt,
  type SignedReceiptAck,
  signAck,
  signReceipt,
  zeroHash,
} from '@rma/core'
import { Wallet } from 'ethers'

// Test helpers shared by the contract suite and the child processes of the cross-process tests.

export const testDomain = createDomain({
  chainId: 31337,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
})

export const testAssetId: Hex = `0x${'a1'.repeat(32)}`

export function randomHex(bytes: number): Hex {
  return `0x${randomBytes(bytes).toString('hex')}`
}

/** A wallet from a fresh random key (no mnemonic derivation, so it is cheap). */
export function randomWallet(): Wallet {
  return new Wallet(randomHex(32))
}

export type ReceiptSignerOptions = {
  /** The meter's key. */
  meter: Wallet
  user: Address
  assetId?: Hex
  /** Unix seconds; the current time by default. */
  timestamp?: number
  amount?: bigint
  /** The receipt's `priceTable` root; zero by default. */
  priceTable?: Hex
  /** The receipt's `attestation` digest; zero by default. */
  attestation?: Hex
  cacheWriteTokens?: number
}

/**
 * A `sign` callback for `append` that builds the chain's next receipt from the head it gets and
 * signs it with the meter's key, as a real meter does.
 */
export function receiptSigner(options: ReceiptSignerOptions): AppendReceiptParameters['sign'] {
  const { meter, user, assetId = testAssetId, amount = 4321n } = options
  return async (head) => {
    const receipt = {
      assetId,
      meter: meter.address as Address,
      user,
      seq: head.seq + 1,
      prev: head.hash,
      requestHash: randomHex(32),
      responseHash: randomHex(32),
      model: 'gpt-4o-mini',
      inputTokens: 1200,
      cachedInputTokens: 200,
      cacheWriteTokens: options.cacheWriteTokens ?? 0,
      outputTokens: 300,
      reasoningTokens: 0,
      usageSource: 'reported' as const,
      amount,
      cumulativeAmount: head.cumulativeAmount + amount,
      priceTable: options.priceTable ?? zeroHash,
      attestation: options.attestation ?? zeroHash,
      timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
    }
    const signed = await signReceipt({ receipt, signer: meter, domain: testDomain })
    return { receipt: signed, hash: hashReceipt(receipt, testDomain) }
  }
}

/** The user's countersignature of a stored receipt. */
export function ackFor(
  userWallet: Wallet,
  receipt: { assetId: Hex; meter: Address; seq: number; cumulativeAmount: bigint },
  receiptHash: Hex,
): Promise<SignedReceiptAck> {
  return signAck({
    ack: {
      assetId: receipt.assetId,
      user: userWallet.address as Address,
      meter: receipt.meter,
      seq: receipt.seq,
      receiptHash,
      cumulativeAmount: receipt.cumulativeAmount,
    },
    signer: userWallet,
    domain: testDomain,
  })
}
