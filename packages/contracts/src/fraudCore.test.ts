// The fraud verifier against @rma/core: the same receipt and attestation digests, the same
// price-table leaves and proofs, the same price rule, for random inputs.
import {
  createDomain,
  createPriceTable,
  createPriceTableTree,
  hashAttestation,
  hashReceipt,
  priceEntryOf,
  priceTokens,
  type RequestAttestation,
  type UsageReceipt,
} from '@rma/core'
import { Contract, hexlify, randomBytes, Wallet } from 'ethers'
import fc from 'fast-check'
import { expect, test } from 'vitest'
import { domainOf, makeReceipt, signReceiptStruct } from '../test/fraud.js'
import { argsOf, blockTime, eventsOf, mined, useSettlementFixture } from '../test/helpers.js'
import { rmaFraudVerifierAbi } from './artifacts/RMAFraudVerifier.js'
import { toAttestationStruct } from './toAttestationStruct.js'
import { toPriceEntryStruct } from './toPriceEntryStruct.js'
import { toReceiptStruct } from './toReceiptStruct.js'

const ctx = useSettlementFixture()

const table = createPriceTable({
  models: {
    'gpt-4o': [
      { effectiveFrom: 1000, input: 2_500_000n, cachedInput: 1_250_000n, output: 10_000_000n },
    ],
    'gpt-4o-mini': [
      { effectiveFrom: 1000, input: 150_000n, cachedInput: 75_000n, output: 600_000n },
    ],
    'claude-sonnet-4': [
      {
        effectiveFrom: 1000,
        input: 3_000_000n,
        cachedInput: 300_000n,
        cacheWrite: 3_750_000n,
        output: 15_000_000n,
        reasoning: 15_000_001n,
      },
    ],
  },
  aliases: { 'my-finetune': 'claude-sonnet-4' },
})
const models = [
  'gpt-4o',
  'gpt-4o-2024-08-06',
  'gpt-4o-mini',
  'gpt-4o-mini-0613',
  'claude-sonnet-4',
  'my-finetune',
]

const hex32 = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => hexlify(b) as `0x${string}`)
const usage = fc
  .record({
    inputTokens: fc.integer({ min: 0, max: 2_000_000 }),
    outputTokens: fc.integer({ min: 0, max: 200_000 }),
    a: fc.double({ min: 0, max: 1, noNaN: true }),
    b: fc.double({ min: 0, max: 1, noNaN: true }),
    c: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ inputTokens, outputTokens, a, b, c }) => {
    const cachedInputTokens = Math.floor(inputTokens * a)
    const cacheWriteTokens = Math.floor((inputTokens - cachedInputTokens) * b)
    return {
      inputTokens,
      cachedInputTokens,
      cacheWriteTokens,
      outputTokens,
      reasoningTokens: Math.floor(outputTokens * c),
    }
  })

test('receipt and attestation digests, price leaves, proofs and prices equal @rma/core', async () => {
  const { settlement, settlementAddress, assetId } = ctx.fx
  const verifier = new Contract(
    await settlement.fraudVerifier(),
    rmaFraudVerifierAbi,
    ctx.anvil.provider,
  )
  const separator = await settlement.domainSeparator()
  const domain = createDomain({
    chainId: 31337,
    verifyingContract: settlementAddress as `0x${string}`,
  })
  const tree = createPriceTableTree(table, { at: 5000 })
  for (const entry of tree.entries)
    expect(await verifier.leafOf!(toPriceEntryStruct(entry))).toBe(tree.leafHash(entry))
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        usage,
        model: fc.constantFrom(...models),
        seq: fc.integer({ min: 1, max: 2 ** 40 }),
        amount: fc.bigInt(0n, 2n ** 200n),
        timestamp: fc.integer({ min: 0, max: 2 ** 40 }),
        source: fc.constantFrom('reported' as const, 'estimated' as const, 'partial' as const),
        requestHash: hex32,
        other: hex32,
        nonce: fc.bigInt(0n, 2n ** 256n - 1n),
      }),
      async ({ usage, model, seq, amount, timestamp, source, requestHash, other, nonce }) => {
        const attestation: RequestAttestation = {
          assetId: assetId as `0x${string}`,
          user: Wallet.createRandom().address as `0x${string}`,
          requestHash,
          nonce,
          expiry: timestamp + 60,
          maxAmount: amount / 2n,
        }
        const receipt: UsageReceipt = {
          ...usage,
          assetId: assetId as `0x${string}`,
          meter: Wallet.createRandom().address as `0x${string}`,
          user: attestation.user,
          seq,
          prev: other,
          requestHash,
          responseHash: hexlify(randomBytes(32)) as `0x${string}`,
          model,
          usageSource: source,
          amount,
          cumulativeAmount: amount + 1n,
          priceTable: tree.root,
          attestation: hashAttestation(attestation, domain),
          timestamp,
        }
        const r = toReceiptStruct(receipt)
        expect(await verifier.receiptDigest!(separator, r)).toBe(hashReceipt(receipt, domain))
        expect(await verifier.attestationDigest!(separator, toAttestationStruct(attestation))).toBe(
          receipt.attestation,
        )
        // The entry a challenger proves (exact name, alias, or snapshot base), accepted by the
        // contract's model rule, and priced like priceTokens.
        const entry = priceEntryOf(table, model, 5000)
        expect(await verifier.modelMatches!(model, entry.model)).toBe(true)
        expect(await verifier.priceOf!(toPriceEntryStruct(entry), r)).toBe(
          priceTokens(entry, usage),
        )
      },
    ),
    { numRuns: Number(process.env.RMA_PROPERTY_RUNS ?? 60) },
  )

  // End to end: the issuer commits the core tree's root; an overpriced snapshot receipt is
  // proven with the core tree's proof of its base entry.
  const { issuer, meter, others, token } = ctx.fx
  await mined(token.mint(issuer.address, 100n))
  await mined(token.connect(issuer).approve(settlementAddress, 100n))
  await mined(settlement.connect(issuer).postBond(assetId, 100n))
  await mined(
    settlement.connect(issuer).commitPriceTable(assetId, tree.root, tree.effectiveFrom, 'ipfs://t'),
  )
  const entry = priceEntryOf(table, 'gpt-4o-2024-08-06', 5000)
  const u = {
    inputTokens: 10_000,
    cachedInputTokens: 4_000,
    cacheWriteTokens: 0,
    outputTokens: 900,
    reasoningTokens: 0,
  }
  const r = makeReceipt({
    assetId: assetId as `0x${string}`,
    meter: meter.address,
    user: others[0]!.address,
    timestamp: await blockTime(ctx.anvil),
    model: 'gpt-4o-2024-08-06',
    priceTable: tree.root,
    ...Object.fromEntries(Object.entries(u).map(([k, v]) => [k, BigInt(v)])),
    amount: priceTokens(entry, u) + 5n,
  })
  const sig = await signReceiptStruct(meter, domainOf(settlementAddress), r)
  const tx = await mined(
    settlement
      .connect(others[1]!)
      .proveMispricing(r, sig, toPriceEntryStruct(entry), tree.getProof(entry.model)),
  )
  const proven = argsOf(eventsOf(settlement, tx, 'FraudProven')[0])
  expect([proven.kind, proven.compensation, proven.bounty]).toEqual([3n, 5n, 5n])
}, 120_000)
