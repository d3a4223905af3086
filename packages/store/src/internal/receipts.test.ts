import { decodeReceipt, encodeReceipt, type SignedUsageReceipt, zeroHash } from '@rma/core'
import { expect, test } from 'vitest'
import { randomHex, randomWallet, receiptSigner } from '../testing/receiptSigner.js'
import { canonicalReceipt } from './receipts.js'

function upperHex(value: string): string {
  return `0x${value.slice(2).toUpperCase()}`
}

test('canonicalReceipt is decodeReceipt(encodeReceipt(receipt)), without the bytes', async () => {
  const meter = randomWallet()
  const user = randomHex(20)
  const { receipt } = await receiptSigner({ meter, user, amount: 2n ** 200n + 1n })({
    seq: 41,
    hash: randomHex(32),
    cumulativeAmount: 10n ** 70n,
  })
  const shouting = {
    ...receipt,
    assetId: upperHex(receipt.assetId),
    meter: meter.address,
    user: upperHex(user),
    prev: upperHex(receipt.prev),
    requestHash: upperHex(receipt.requestHash),
    signature: upperHex(receipt.signature),
    model: 'gpt-4o-mini \u{1F600}',
    extra: 'not in the schema',
  } as unknown as SignedUsageReceipt
  for (const input of [receipt, shouting, { ...receipt, prev: zeroHash, amount: 0n }]) {
    const expected = decodeReceipt(encodeReceipt(input))
    const canonical = canonicalReceipt(input)
    expect(canonical).toStrictEqual(expected)
    expect(Object.keys(canonical)).toEqual(Object.keys(expected))
  }
})
