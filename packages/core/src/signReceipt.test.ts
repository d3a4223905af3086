import { NonceManager, Wallet } from 'ethers'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { SignerMismatchError } from './errors.js'
import { signReceipt } from './signReceipt.js'
import { receiptArbitrary } from './testing/receiptArbitrary.js'
import { createDomain, typedDataTypes, typedDataValue, usageReceiptSchema } from './typedData.js'
import type { Address, UsageReceipt } from './types.js'
import { verifyReceipt } from './verifyReceipt.js'

const meter = Wallet.createRandom()
const domain = createDomain({ chainId: 31337, verifyingContract: `0x${'5f'.repeat(20)}` })

function sampleReceipt(seed: number): UsageReceipt {
  return {
    ...fc.sample(receiptArbitrary, { numRuns: 1, seed })[0]!,
    meter: meter.address as Address,
  }
}

describe('signReceipt', () => {
  test('a wallet signs the fast-path digest with the same signature as ethers signTypedData', async () => {
    for (let seed = 0; seed < 20; seed++) {
      const receipt = sampleReceipt(seed)
      const signed = await signReceipt({ receipt, signer: meter, domain })
      const expected = await meter.signTypedData(
        domain,
        typedDataTypes(usageReceiptSchema),
        typedDataValue(usageReceiptSchema, receipt),
      )
      expect(signed.signature).toBe(expected)
      expect(verifyReceipt({ receipt: signed, domain })).toBe(true)
    }
  })

  test('a signer without a local key (NonceManager around a wallet) signs the typed data', async () => {
    const remote = new NonceManager(meter)
    expect('signingKey' in remote).toBe(false)
    const receipt = sampleReceipt(42)
    const signed = await signReceipt({ receipt, signer: remote, domain })
    expect(signed.signature).toBe((await signReceipt({ receipt, signer: meter, domain })).signature)
    expect(verifyReceipt({ receipt: signed, domain })).toBe(true)
  })

  test('refuses to sign a receipt naming another meter', async () => {
    const other = Wallet.createRandom()
    const receipt = sampleReceipt(1)
    for (const signer of [other, new NonceManager(other)]) {
      const error = await signReceipt({ receipt, signer, domain }).catch((e) => e)
      expect(error).toBeInstanceOf(SignerMismatchError)
      expect(error.shortMessage).toBe(`Signer ${other.address} cannot sign for ${meter.address}.`)
    }
  })
})

describe('verifyReceipt', () => {
  const changes: Record<keyof UsageReceipt, (r: UsageReceipt) => unknown> = {
    assetId: (r) => flipHex(r.assetId),
    meter: () => Wallet.createRandom().address,
    user: (r) => flipHex(r.user),
    seq: (r) => r.seq + 1,
    prev: (r) => flipHex(r.prev),
    requestHash: (r) => flipHex(r.requestHash),
    responseHash: (r) => flipHex(r.responseHash),
    model: (r) => `${r.model}x`,
    inputTokens: (r) => r.inputTokens + 1,
    cachedInputTokens: (r) => (r.cachedInputTokens > 0 ? r.cachedInputTokens - 1 : 1),
    cacheWriteTokens: (r) => r.cacheWriteTokens + 1,
    outputTokens: (r) => r.outputTokens + 1,
    reasoningTokens: (r) => (r.reasoningTokens > 0 ? r.reasoningTokens - 1 : 1),
    usageSource: (r) => (r.usageSource === 'reported' ? 'estimated' : 'reported'),
    amount: (r) => r.amount + 1n,
    cumulativeAmount: (r) => r.cumulativeAmount - 1n,
    priceTable: (r) => flipHex(r.priceTable),
    attestation: (r) => flipHex(r.attestation),
    timestamp: (r) => r.timestamp + 1,
  }

  test.each(Object.keys(changes) as (keyof UsageReceipt)[])(
    'fails when %s is changed',
    async (field) => {
      const receipt = {
        ...sampleReceipt(5),
        seq: 9,
        inputTokens: 100,
        outputTokens: 50,
        timestamp: 1_700_000_000,
      }
      const signed = await signReceipt({ receipt, signer: meter, domain })
      expect(verifyReceipt({ receipt: signed, domain })).toBe(true)
      const tampered = { ...signed, [field]: changes[field](signed) }
      expect(verifyReceipt({ receipt: tampered, domain })).toBe(false)
    },
  )

  test('fails under another domain, a flipped signature byte, or a malformed signature', async () => {
    const signed = await signReceipt({ receipt: sampleReceipt(6), signer: meter, domain })
    const otherDomain = createDomain({ chainId: 1, verifyingContract: domain.verifyingContract })
    expect(verifyReceipt({ receipt: signed, domain: otherDomain })).toBe(false)
    expect(
      verifyReceipt({ receipt: { ...signed, signature: flipHex(signed.signature) }, domain }),
    ).toBe(false)
    expect(verifyReceipt({ receipt: { ...signed, signature: '0x1234' }, domain })).toBe(false)
    expect(verifyReceipt({ receipt: { ...signed, signature: undefined as never }, domain })).toBe(
      false,
    )
  })
})

/** Changes the first byte after 0x, so the value stays well-formed but differs. */
function flipHex<T extends string>(hex: T): T {
  const first = Number.parseInt(hex.slice(2, 4), 16) ^ 0xff
  return `0x${first.toString(16).padStart(2, '0')}${hex.slice(4)}` as T
}
