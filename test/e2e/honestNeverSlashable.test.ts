import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMemoryLedgerStore, withRMA } from '@rma/client'
import {
  rmaSettlementAbi,
  toAttestationStruct,
  toPriceEntryStruct,
  toReceiptStruct,
} from '@rma/contracts'
import {
  type Anvil,
  deploySettlementFixture,
  type SettlementFixture,
  startAnvil,
} from '@rma/contracts/testing'
import {
  type Address,
  createDomain,
  createPriceTable,
  createPriceTableTree,
  findFraud,
  type Hex,
  type PriceTable,
  type PriceTableTree,
  priceEntryOf,
  type RmaDomain,
  type SignedUsageReceipt,
  signReceipt,
} from '@rma/core'
import { createMeteredApp, type MeteredApp } from '@rma/express/testing'
import { createSqliteStore } from '@rma/store'
import { Contract, Wallet } from 'ethers'
import fc from 'fast-check'
import OpenAI from 'openai'
import { afterAll, beforeAll, expect, test } from 'vitest'
import {
  type AskedUsage,
  createUsageUpstream,
  type UsageUpstream,
  usageMetadata,
} from '../fixtures/usageUpstream.js'

// Honest meters and honest users are never slashable: random histories of calls through the
// REAL meter (rmaMeter + openaiProxy on 127.0.0.1, SQLite store) and the REAL client (the
// official openai SDK through withRMA): several models (a snapshot the upstream reports, an
// alias), usage with and without cached and reasoning tokens, JSON and streams (with and
// without include_usage), spend caps hit or not, two meters priced with two committed
// price-table versions. Then findFraud over all the user's evidence finds nothing, and every
// proof the contract could be asked for (each receipt as an overcharge against its attestation
// and as a mispricing against its committed price entry, each pair of receipts as an
// equivocation, each receipt paired with itself) is dry-run on the real contract on anvil: not
// one succeeds.

const now = Math.floor(Date.now() / 1000)
/** The current table: gpt-4o repriced an hour ago; an alias; a price not in force yet. */
const currentTable = createPriceTable({
  models: {
    'gpt-4o': [
      { effectiveFrom: 0, input: 2_500_000n, cachedInput: 1_250_000n, output: 10_000_000n },
      {
        effectiveFrom: now - 3600,
        input: 2_000_000n,
        cachedInput: 1_000_000n,
        output: 8_000_000n,
        reasoning: 9_000_000n,
      },
    ],
    'gpt-4o-mini': [
      { effectiveFrom: 0, input: 150_000n, cachedInput: 75_000n, output: 600_000n },
      { effectiveFrom: now + 365 * 86_400, input: 1n, output: 1n },
    ],
    o3: { input: 2_000_000n, cachedInput: 500_000n, output: 8_000_000n, reasoning: 8_000_000n },
  },
  aliases: { 'my-finetune': 'gpt-4o-mini' },
})
/** An older table another meter still prices with (its version is committed too). */
const olderTable = createPriceTable({
  models: {
    'gpt-4o': { input: 2_500_000n, cachedInput: 1_250_000n, output: 10_000_000n },
    'gpt-4o-mini': { input: 150_000n, cachedInput: 75_000n, output: 600_000n },
    o3: { input: 2_000_000n, cachedInput: 500_000n, output: 8_000_000n, reasoning: 8_000_000n },
  },
  aliases: { 'my-finetune': 'gpt-4o-mini' },
})
const tables: PriceTable[] = [currentTable, olderTable]

let anvil: Anvil
let fx: SettlementFixture
let domain: RmaDomain
let upstream: UsageUpstream
let dir: string
let meters: MeteredApp[]
let trees: PriceTableTree[]
let contract: Contract

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rma-honest-'))
  anvil = await startAnvil()
  fx = await deploySettlementFixture(anvil)
  domain = createDomain({ chainId: 31337, verifyingContract: fx.settlementAddress as Address })
  contract = new Contract(fx.settlementAddress, rmaSettlementAbi, anvil.provider)
  trees = tables.map((table) => createPriceTableTree(table, { at: now }))
  const issuer = new Contract(fx.settlementAddress, rmaSettlementAbi, fx.issuer)
  const secondMeter = fx.others.at(-1)!
  await (await issuer.getFunction('setMeter')(fx.assetId, secondMeter.address, true)).wait()
  for (const [i, tree] of trees.entries())
    await (
      await issuer.getFunction('commitPriceTable')(
        fx.assetId,
        tree.root,
        tree.effectiveFrom,
        `ipfs://table-${i}`,
      )
    ).wait()
  upstream = await createUsageUpstream()
  meters = await Promise.all(
    [fx.meter, secondMeter].map((key, i) =>
      createMeteredApp({
        store: createSqliteStore({ path: join(dir, `meter-${i}.db`) }),
        upstream: {
          url: upstream.url,
          requests: [],
          cancelled: 0,
          answered: 0,
          close: async () => {},
        },
        meterKey: key.privateKey,
        meter: {
          assetId: fx.assetId as Hex,
          chainId: 31337,
          settlementContract: fx.settlementAddress as Address,
          prices: tables[i]!,
        },
      }),
    ),
  )
}, 60_000)

afterAll(async () => {
  await Promise.all(meters?.map((m) => m.close()) ?? [])
  await upstream?.close()
  await anvil?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

type Call = {
  model: string
  /** The snapshot name the upstream answers as (resolves to the base's price). */
  reportedAs: string | undefined
  mode: 'json' | 'stream' | 'stream-usage'
  usage: AskedUsage
}

const usageArbitrary: fc.Arbitrary<AskedUsage> = fc
  .record({
    input: fc.integer({ min: 0, max: 50_000 }),
    cached: fc.integer({ min: 0, max: 50_000 }),
    output: fc.integer({ min: 0, max: 8_000 }),
    reasoning: fc.integer({ min: 0, max: 8_000 }),
    cachedShare: fc.constantFrom(0, 1, 2),
  })
  .map((u) => ({
    input: u.input,
    // No cache, part of the input cached, or all of it.
    cached: u.cachedShare === 0 ? 0 : u.cachedShare === 2 ? u.input : Math.min(u.cached, u.input),
    output: u.output,
    reasoning: Math.min(u.reasoning, u.output),
  }))

const callArbitrary: fc.Arbitrary<Call> = fc
  .record({
    model: fc.constantFrom('gpt-4o', 'gpt-4o-mini', 'o3', 'my-finetune'),
    snapshot: fc.boolean(),
    mode: fc.constantFrom('json', 'stream', 'stream-usage'),
    usage: usageArbitrary,
  })
  .map(({ model, snapshot, mode, usage }) => ({
    model,
    reportedAs: snapshot && model === 'gpt-4o' ? 'gpt-4o-2024-08-06' : undefined,
    mode,
    usage,
  }))

const historyArbitrary = fc.record({
  meter: fc.constantFrom(0, 1),
  // From a cap most calls hit to one none does.
  maxAmountPerCall: fc.constantFrom(2_000n, 20_000n, 10n ** 12n),
  calls: fc.array(callArbitrary, { minLength: 1, maxLength: 5 }),
})

async function run(client: ReturnType<typeof clientFor>, call: Call): Promise<void> {
  const request = {
    model: call.model,
    messages: [{ role: 'user' as const, content: 'Hi' }],
    // Small enough for the meter's worst case (body bytes + max_tokens) to fit every cap below;
    // the usage the upstream reports is larger, so the caps are hit.
    max_tokens: 16,
    metadata: usageMetadata(call.usage, call.reportedAs),
  }
  if (call.mode === 'json') {
    await client.chat.completions.create(request)
    return
  }
  const stream = await client.chat.completions.create({
    ...request,
    stream: true,
    ...(call.mode === 'stream-usage' ? { stream_options: { include_usage: true } } : {}),
  })
  for await (const _ of stream);
}

function clientFor(user: Wallet, meter: number, maxAmountPerCall: bigint) {
  return withRMA(
    new OpenAI({ baseURL: `${meters[meter]!.url}/v1`, apiKey: 'unused', maxRetries: 0 }),
    {
      signer: user,
      assetId: fx.assetId as Hex,
      chainId: 31337,
      settlementContract: fx.settlementAddress as Address,
      meters: meters.map((m) => m.meterWallet.address as Address),
      maxAmountPerCall,
      prices: tables[meter]!,
      store: createMemoryLedgerStore(),
    },
  )
}

/** Whether a dry run of the proof succeeds (a reverted one throws). */
async function succeeds(method: string, args: unknown[]): Promise<boolean> {
  try {
    await contract.getFunction(method).staticCall(...args)
    return true
  } catch {
    return false
  }
}

/** Every proof the contract could be asked for about this evidence; how many succeed. */
async function attempts(
  receipts: readonly SignedUsageReceipt[],
  evidence: ReturnType<ReturnType<typeof clientFor>['rma']['ledger']['evidence']>,
  table: PriceTable,
  tree: PriceTableTree,
): Promise<{ tried: number; succeeded: number }> {
  let tried = 0
  let succeeded = 0
  const attempt = async (method: string, args: unknown[]) => {
    tried++
    if (await succeeds(method, args)) succeeded++
  }
  for (const [i, r] of receipts.entries()) {
    const struct = toReceiptStruct(r)
    for (const att of evidence.attestations.filter((a) => a.requestHash === r.requestHash))
      await attempt('proveOvercharge', [
        struct,
        r.signature,
        toAttestationStruct(att),
        att.signature,
      ])
    let entry = tree.entries[0]!
    try {
      entry = priceEntryOf(table, r.model, r.timestamp)
    } catch {}
    await attempt('proveMispricing', [
      struct,
      r.signature,
      toPriceEntryStruct(entry),
      tree.getProof(entry.model),
    ])
    await attempt('proveEquivocation', [struct, r.signature, struct, r.signature])
    const next = receipts[i + 1]
    if (next)
      await attempt('proveEquivocation', [
        struct,
        r.signature,
        toReceiptStruct(next),
        next.signature,
      ])
  }
  return { tried, succeeded }
}

test('≥ 100 random honest histories through the real meter and client: findFraud finds nothing and 0 proofs succeed on chain', async () => {
  let histories = 0
  let receiptsSeen = 0
  let proofsTried = 0
  let capped = 0
  await fc.assert(
    fc.asyncProperty(historyArbitrary, async (history) => {
      const user = Wallet.createRandom() as unknown as Wallet
      const client = clientFor(user, history.meter, history.maxAmountPerCall)
      for (const call of history.calls) await run(client, call)
      await client.rma.settled()
      const records = client.rma.ledger.list()
      // Every call was served and its receipt passed every check of the honest client.
      expect(client.rma.ledger.rejected()).toEqual([])
      expect(records).toHaveLength(history.calls.length)
      capped += records.filter((r) => r.checks.price === 'capped').length
      const evidence = client.rma.ledger.evidence()
      expect(evidence.attestations).toHaveLength(history.calls.length)
      expect(await client.rma.frauds()).toEqual([])
      expect(
        findFraud({
          domain,
          receipts: evidence.receipts,
          attestations: evidence.attestations,
          priceTables: trees,
        }),
      ).toEqual([])
      const receipts = records.map((r) => r.receipt)
      // The honest meter names the committed root of the table it priced with.
      for (const r of receipts) expect(r.priceTable).toBe(trees[history.meter]!.root)
      const { tried, succeeded } = await attempts(
        receipts,
        evidence,
        tables[history.meter]!,
        trees[history.meter]!,
      )
      expect(succeeded).toBe(0)
      // Control: the same proofs of one receipt re-signed by the meter key with a higher amount
      // succeed, so the dry runs above failed because the receipts are honest, not because the
      // proofs were malformed.
      const { signature: _, ...first } = receipts[0]!
      const forged = await signReceipt({
        signer: meters[history.meter]!.meterWallet,
        domain,
        receipt: { ...first, amount: first.amount + 10n ** 13n },
      })
      const frauds = findFraud({
        domain,
        receipts: [forged],
        attestations: evidence.attestations,
        priceTables: trees,
      })
      expect(frauds.map((f) => f.kind)).toEqual(['overcharge', 'mispricing'])
      const control = await attempts(
        [forged],
        evidence,
        tables[history.meter]!,
        trees[history.meter]!,
      )
      // Overcharge and mispricing succeed; the receipt paired with itself does not.
      expect(control.succeeded).toBe(2)
      histories++
      receiptsSeen += receipts.length
      proofsTried += tried
    }),
    { numRuns: 100 },
  )
  expect(histories).toBeGreaterThanOrEqual(100)
  // The histories did exercise the cases they are meant to: capped calls among them.
  expect(capped).toBeGreaterThan(0)
  expect(proofsTried).toBeGreaterThanOrEqual(3 * receiptsSeen)
}, 120_000)
