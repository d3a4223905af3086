import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createFileLedgerStore,
  FraudProofRejectedError,
  NothingToProveError,
  parseLedgerEvidence,
  proveFraud,
  withRMA,
} from '@rma/client'
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
  type Fraud,
  findFraud,
  type Hex,
  hashAttestation,
  priceTokens,
  type RmaDomain,
  type SignedUsageReceipt,
  signAttestation,
  signReceipt,
  splitRevenue,
  verifyReceipt,
  zeroHash,
} from '@rma/core'
import { createMeteredApp, type MeteredApp } from '@rma/express/testing'
import { type Payouts, readPayouts } from '@rma/settlement'
import { createSqliteStore } from '@rma/store'
import { Contract, type ContractTransactionResponse, MaxUint256, Signature, Wallet } from 'ethers'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createDishonestMeter, type DishonestMeter } from '../fixtures/dishonestMeter.js'
import {
  createUsageUpstream,
  type UsageUpstream,
  usageMetadata,
} from '../fixtures/usageUpstream.js'

// A dishonest meter (the real meter, its receipts rewritten and signed again with the real
// meter key) overcharges, misprices and equivocates against a user of the official openai SDK
// through withRMA, on the real settlement contract on anvil. The honest client refuses each such
// receipt but keeps it as evidence (in a file, across a restart). The user proves one fraud with
// `client.rma.prove`, a third party proves the others from the user's published ledger with
// `findFraud` + `proveFraud`. Every payment and slash is checked against the rule of
// docs/protocol.md computed here independently: C to the user, B = max(C, minBond / 10) to the
// challenger, C + B from the bond first, then from supporters' active and unbonding stake pro
// rata (each rounded down), pending stake untouched. The meter is revoked and the asset frozen
// until the issuer posts the bond back and resumes. Bad proofs, replays and proofs of receipts
// past the proof window revert and move nothing; a griefer cannot freeze the asset.

const minBond = 1_000n
const maxAmountPerCall = 1_000n
const now = Math.floor(Date.now() / 1000)
const table = createPriceTable({
  models: {
    // 2,200 per call of `bigUsage`: above the spend cap, so the honest meter caps it at 1,000.
    'gpt-4o': { input: 2_500_000n, cachedInput: 1_250_000n, output: 10_000_000n },
    'gpt-4o-mini': { input: 150_000n, cachedInput: 75_000n, output: 600_000n },
  },
})
const tree = createPriceTableTree(table, { at: now })
const usage = { input: 1200, cached: 1024, output: 48, reasoning: 16 }
const receiptUsage = {
  inputTokens: 1200,
  cachedInputTokens: 1024,
  cacheWriteTokens: 0,
  outputTokens: 48,
  reasoningTokens: 16,
}
const miniPrice = priceTokens(tree.entry('gpt-4o-mini'), receiptUsage)
const bigPrice = priceTokens(tree.entry('gpt-4o'), receiptUsage)

let anvil: Anvil
let fx: SettlementFixture
let domain: RmaDomain
let upstream: UsageUpstream
let app: MeteredApp
let dishonest: DishonestMeter
let dir: string
let ledgerPath: string
let settlement: Contract
let user: Wallet
let challenger: Wallet
let supporters: Wallet[]
let late: Wallet
let stranger: Wallet

const settlementAs = (wallet: Wallet) =>
  new Contract(fx.settlementAddress, rmaSettlementAbi, wallet)
const mined = async (tx: Promise<ContractTransactionResponse>) => (await tx).wait()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rma-fraud-'))
  ledgerPath = join(dir, 'user-ledger.jsonl')
  anvil = await startAnvil({ accounts: 12 })
  fx = await deploySettlementFixture(anvil)
  domain = createDomain({ chainId: 31337, verifyingContract: fx.settlementAddress as Address })
  settlement = new Contract(fx.settlementAddress, rmaSettlementAbi, anvil.provider)
  const account = (i: number) => {
    const wallet = fx.others[i]
    if (!wallet) throw new Error(`no anvil account ${i}`)
    return wallet
  }
  user = account(0)
  challenger = account(1)
  late = account(2)
  stranger = account(3)
  supporters = [account(4), account(5)]
  // The issuer's bond: the owner sets the minimum, the issuer posts it.
  await mined(settlementAs(fx.owner).getFunction('setMinBond')(fx.tokenAddress, minBond))
  await mined(fx.token.mint(fx.issuer.address, 10n ** 12n))
  await mined(fx.token.connect(fx.issuer).approve(fx.settlementAddress, MaxUint256))
  await mined(settlementAs(fx.issuer).getFunction('postBond')(fx.assetId, minBond))
  await mined(
    settlementAs(fx.issuer).getFunction('commitPriceTable')(
      fx.assetId,
      tree.root,
      tree.effectiveFrom,
      'https://provider.example/prices/1.json',
    ),
  )
  // Supporters: 3,000 and 2,000 active (activated by a settle), then 1,000 of the second
  // unbonding; a late supporter's 5,000 is still pending (not at risk).
  await mined(settlementAs(supporters[0]!).getFunction('stake')(fx.assetId, 3_000n))
  await mined(settlementAs(supporters[1]!).getFunction('stake')(fx.assetId, 2_000n))
  await settleEpoch()
  await mined(settlementAs(supporters[1]!).getFunction('requestUnstake')(fx.assetId, 1_000n))
  await mined(settlementAs(late).getFunction('stake')(fx.assetId, 5_000n))

  upstream = await createUsageUpstream()
  app = await createMeteredApp({
    store: createSqliteStore({ path: join(dir, 'meter.db') }),
    upstream: { url: upstream.url, requests: [], cancelled: 0, answered: 0, close: async () => {} },
    meterKey: fx.meter.privateKey,
    meter: {
      assetId: fx.assetId as Hex,
      chainId: 31337,
      settlementContract: fx.settlementAddress as Address,
      prices: table,
    },
  })
  dishonest = await createDishonestMeter({
    target: app.url,
    meterKey: new Wallet(fx.meter.privateKey),
    domain,
    priceTable: tree.root,
  })
}, 60_000)

afterAll(async () => {
  await dishonest?.close()
  await app?.close()
  await upstream?.close()
  await anvil?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

let epoch = 0n
async function settleEpoch() {
  epoch++
  await mined(
    settlementAs(fx.settler).getFunction('settle')(
      fx.assetId,
      epoch,
      0n,
      zeroHash,
      zeroHash,
      0n,
      '',
      zeroHash,
    ),
  )
}

function clientFor(wallet: Wallet) {
  return withRMA(new OpenAI({ baseURL: `${dishonest.url}/v1`, apiKey: 'unused', maxRetries: 0 }), {
    signer: wallet,
    assetId: fx.assetId as Hex,
    chainId: 31337,
    settlementContract: fx.settlementAddress as Address,
    meters: [fx.meter.address as Address],
    maxAmountPerCall,
    prices: table,
    store: createFileLedgerStore({ path: ledgerPath }),
  })
}

async function call(client: ReturnType<typeof clientFor>, model: string) {
  return client.chat.completions
    .create({
      model,
      messages: [{ role: 'user', content: 'Hi' }],
      // A bound the meter's worst-case price check accepts under the spend cap.
      max_tokens: 48,
      metadata: usageMetadata(usage),
    })
    .then(
      () => 'served',
      (error: { code?: string }) => error.code ?? 'failed',
    )
}

/** Token balances and the asset's risk books: what a proof may move. */
async function books() {
  const [bond, frozen, totalSlashed] = (await settlement.getFunction('riskOf')(fx.assetId)) as [
    bigint,
    boolean,
    bigint,
  ]
  const stakes = await Promise.all(
    [...supporters, late].map(
      async (s) =>
        (await settlement.getFunction('stakeAtRiskOf')(fx.assetId, s.address)) as [
          bigint,
          bigint,
          bigint,
        ],
    ),
  )
  const balances = await Promise.all(
    [user, challenger, stranger, fx.settlementAddress].map((a) =>
      fx.token.balanceOf(typeof a === 'string' ? a : a.address),
    ),
  )
  return {
    bond,
    frozen,
    totalSlashed,
    /** Everything the asset owes (bond, stake, owed shares, protocol dust) vs the tokens held. */
    owed: (await settlement.getFunction('ledgerOf')(fx.assetId)) as bigint,
    stakes: stakes.map(([active, unbonding, slashed]) => ({ active, unbonding, slashed })),
    balances,
    meterAuthorised: (await settlement.getFunction('isMeter')(
      fx.assetId,
      fx.meter.address,
    )) as boolean,
    /** What `payouts()` reports of the same books: bond, freeze, slashes, per supporter. */
    payouts: await readPayouts(fx.settlement, fx.assetId as Hex, {
      supporters: [...supporters, late].map((s) => s.address as Address),
    }),
  }
}

/**
 * `readPayouts` reports the proof exactly as the model says: the bond down by what it took, the
 * total slashed up by C + B, each supporter's stake at risk and slashed total as computed, the
 * late supporter's pending stake not at risk, and no supporter's claimable rewards touched.
 */
function expectRiskReported(
  before: { payouts: Payouts },
  after: { payouts: Payouts },
  expected: ReturnType<typeof expectedSlash>,
) {
  const [was, now] = [before.payouts.risk, after.payouts.risk]
  expect(now.bond).toBe(expected.bond)
  expect(was.bond - now.bond).toBe(smaller(expected.toUser + expected.toChallenger, was.bond))
  expect(now.frozen).toBe(true)
  expect(now.totalSlashed - was.totalSlashed).toBe(expected.toUser + expected.toChallenger)
  expect(now.supporters.map((s) => s.supporter)).toEqual(
    [...supporters, late].map((s) => s.address),
  )
  for (const [i, s] of now.supporters.entries()) {
    const model = expected.stakes[i]!
    expect(s.atRisk).toBe(model.active + model.unbonding)
    expect(s.slashed - was.supporters[i]!.slashed).toBe(
      was.supporters[i]!.atRisk - model.active - model.unbonding,
    )
    expect(s.claimableRewards).toBe(was.supporters[i]!.claimableRewards)
  }
  expect(now.supporters[2]).toMatchObject({ atRisk: 0n, slashed: 0n })
}

/**
 * The documented slashing rule, independently: C + B with B = max(C, minBond / 10) comes from
 * the bond first, then from the active + unbonding stake pro rata, each supporter's active and
 * unbonding scaled by (T − x) / T and rounded down; the user is paid first.
 */
function expectedSlash(
  before: Awaited<ReturnType<typeof books>>,
  compensation: bigint,
): {
  bond: bigint
  stakes: { active: bigint; unbonding: bigint }[]
  toUser: bigint
  toChallenger: bigint
} {
  const bounty = compensation > minBond / 10n ? compensation : minBond / 10n
  const due = compensation + bounty
  const fromBond = smaller(due, before.bond)
  const wanted = due - fromBond
  // Only the supporters with stake at risk: the late one's is pending.
  const atRisk = before.stakes.slice(0, 2)
  const total = atRisk.reduce((sum, s) => sum + s.active + s.unbonding, 0n)
  const fromStake = smaller(wanted, total)
  const left = total - fromStake
  const stakes = before.stakes.map((s, i) =>
    i < 2 && total > 0n
      ? { active: (s.active * left) / total, unbonding: (s.unbonding * left) / total }
      : { active: s.active, unbonding: s.unbonding },
  )
  const taken = fromBond + fromStake
  const toUser = smaller(taken, compensation)
  return { bond: before.bond - fromBond, stakes, toUser, toChallenger: taken - toUser }
}

describe('fraud proofs against a dishonest meter', () => {
  let client: ReturnType<typeof clientFor>
  const frauds: Record<'overcharge' | 'mispricing' | 'equivocation' | 'stale', Fraud> = {} as never

  test('the meter overcharges, misprices and equivocates; the client refuses each receipt and keeps it as evidence', async () => {
    client = clientFor(user)
    expect(await call(client, 'gpt-4o-mini')).toBe('served') // seq 1
    // The honest meter caps gpt-4o at the spend cap; this one charges 500 beyond it (still
    // below the table price, so only the cap proves it).
    dishonest.next({ kind: 'overcharge', by: 500n })
    expect(await call(client, 'gpt-4o')).toBe('SPEND_CAP_EXCEEDED') // seq 2
    expect(await call(client, 'gpt-4o-mini')).toBe('served') // seq 3
    dishonest.next({ kind: 'misprice', by: 40n })
    expect(await call(client, 'gpt-4o-mini')).toBe('PRICE_MISMATCH') // seq 4
    expect(await call(client, 'gpt-4o-mini')).toBe('served') // seq 5
    dishonest.next({ kind: 'equivocate', by: 0n })
    expect(await call(client, 'gpt-4o-mini')).toBe('CHAIN_MISMATCH') // seq 5 again
    dishonest.next({ kind: 'misprice', by: 7n })
    expect(await call(client, 'gpt-4o-mini')).toBe('PRICE_MISMATCH') // seq 6, proven too late
    await client.rma.settled()

    const delivered = dishonest.delivered.map((d) => d.receipt)
    expect(delivered.map((r) => [r.seq, r.amount])).toEqual([
      [1, miniPrice],
      [2, maxAmountPerCall + 500n],
      [3, miniPrice],
      [4, miniPrice + 40n],
      [5, miniPrice],
      [5, miniPrice],
      [6, miniPrice + 7n],
    ])
    expect(bigPrice).toBeGreaterThan(maxAmountPerCall + 500n)

    // A restarted client (same ledger file) finds the same frauds in its evidence.
    const restarted = clientFor(user)
    const found = await restarted.rma.frauds()
    expect(found.map((f) => [f.kind, f.compensation])).toEqual([
      ['equivocation', miniPrice],
      ['overcharge', 500n],
      ['mispricing', 40n],
      ['mispricing', 7n],
    ])
    const [equivocation, overcharge, mispricing, stale] = found as [Fraud, Fraud, Fraud, Fraud]
    Object.assign(frauds, { equivocation, overcharge, mispricing, stale })
    expect(overcharge.kind === 'overcharge' && overcharge.receipt).toEqual(delivered[1])
    expect(mispricing.kind === 'mispricing' && mispricing.receipt).toEqual(delivered[3])
    expect(equivocation.kind === 'equivocation' && [equivocation.a, equivocation.b]).toEqual(
      expect.arrayContaining([delivered[4], delivered[5]]),
    )
    // An honest receipt of the same history proves nothing: no transaction is sent.
    const nonce = await anvil.provider.getTransactionCount(user.address)
    await expect(restarted.rma.prove(delivered[0]!)).rejects.toBeInstanceOf(NothingToProveError)
    expect(await anvil.provider.getTransactionCount(user.address)).toBe(nonce)
  })

  test('bad proofs revert and move nothing; a griefer cannot freeze the asset', async () => {
    const before = await books()
    const overcharge = frauds.overcharge as Extract<Fraud, { kind: 'overcharge' }>
    const mispricing = frauds.mispricing as Extract<Fraud, { kind: 'mispricing' }>
    const { signature: _, ...fields } = overcharge.receipt
    // A receipt signed by a key the asset never authorised.
    const byStranger = await signReceipt({
      signer: stranger,
      domain,
      receipt: { ...fields, meter: stranger.address.toLowerCase() as Address },
    })
    // An attestation the user never signed: same fields, lower cap, signed by the stranger.
    const forgedAttestation = {
      ...overcharge.attestation,
      signature: (
        await signAttestation({
          signer: stranger,
          domain,
          attestation: { ...overcharge.attestation, user: stranger.address as Address },
        })
      ).signature,
    }
    // An attestation of another request the user did sign, with a lower cap.
    const otherRequest = await signAttestation({
      signer: user,
      domain,
      attestation: {
        ...overcharge.attestation,
        requestHash: `0x${'77'.repeat(32)}`,
        maxAmount: 1n,
      },
    })
    // The same receipt signed for another chain's contract.
    const otherDomain = createDomain({
      chainId: 1,
      verifyingContract: fx.settlementAddress as Address,
    })
    const otherChain = await signReceipt({
      signer: new Wallet(fx.meter.privateKey),
      domain: otherDomain,
      receipt: fields,
    })
    const bad: [string, unknown[]][] = [
      [
        'proveOvercharge',
        [
          toReceiptStruct(byStranger),
          byStranger.signature,
          toAttestationStruct(overcharge.attestation),
          overcharge.attestation.signature,
        ],
      ],
      [
        'proveOvercharge',
        [
          toReceiptStruct(overcharge.receipt),
          overcharge.receipt.signature,
          toAttestationStruct(forgedAttestation),
          forgedAttestation.signature,
        ],
      ],
      [
        'proveOvercharge',
        [
          toReceiptStruct(overcharge.receipt),
          overcharge.receipt.signature,
          toAttestationStruct(otherRequest),
          otherRequest.signature,
        ],
      ],
      [
        'proveOvercharge',
        [
          toReceiptStruct(otherChain),
          otherChain.signature,
          toAttestationStruct(overcharge.attestation),
          overcharge.attestation.signature,
        ],
      ],
      [
        'proveEquivocation',
        [
          toReceiptStruct(overcharge.receipt),
          overcharge.receipt.signature,
          toReceiptStruct(overcharge.receipt),
          overcharge.receipt.signature,
        ],
      ],
      [
        'proveMispricing',
        [
          toReceiptStruct(mispricing.receipt),
          mispricing.receipt.signature,
          toPriceEntryStruct(tree.entry('gpt-4o')),
          tree.getProof('gpt-4o'),
        ],
      ],
      [
        'proveMispricing',
        [
          toReceiptStruct(mispricing.receipt),
          mispricing.receipt.signature,
          toPriceEntryStruct({ ...mispricing.entry, input: 1n }),
          mispricing.proof,
        ],
      ],
    ]
    const griefer = settlementAs(stranger)
    for (const [method, args] of bad) {
      // Sent as real transactions (a fixed gas limit skips the estimate), each mined and reverted.
      const tx = await griefer.getFunction(method).send(...args, { gasLimit: 1_000_000n })
      await expect(tx.wait()).rejects.toMatchObject({ code: 'CALL_EXCEPTION' })
    }
    expect(await books()).toEqual(before)
    expect(before.frozen).toBe(false)
    expect(before.balances[3]).toBe(before.owed)
    // Through the client: a pair that is not an equivocation is nothing to prove.
    await expect(client.rma.prove([overcharge.receipt, overcharge.receipt])).rejects.toMatchObject({
      code: 'NOTHING_TO_PROVE',
    })
  })

  test('the user proves the overcharge: compensated and paid the bounty from the bond; meter revoked, asset frozen', async () => {
    const before = await books()
    const expected = expectedSlash(before, 500n)
    // Given the refused receipt, the client finds what it proves in its evidence.
    const result = await client.rma.prove(receiptOf(frauds.overcharge), { signer: user })
    expect(result).toMatchObject({ kind: 'overcharge', compensation: 500n, bounty: 500n })
    expect(expected).toMatchObject({ toUser: 500n, toChallenger: 500n, bond: 0n })
    const after = await books()
    expect(after.bond).toBe(expected.bond)
    expect(after.stakes.map(({ active, unbonding }) => ({ active, unbonding }))).toEqual(
      expected.stakes,
    )
    expectRiskReported(before, after, expected)
    // The user is both the harmed user and the challenger.
    expect(after.balances[0]! - before.balances[0]!).toBe(1_000n)
    expect(before.balances[3]! - after.balances[3]!).toBe(1_000n)
    expect(after.totalSlashed - before.totalSlashed).toBe(1_000n)
    expect(after.frozen).toBe(true)
    expect(after.meterAuthorised).toBe(false)
    // Every wei accounted for: the contract holds exactly what the asset owes.
    expect(after.balances[3]).toBe(after.owed)
    expect(await settlement.getFunction('wasMeter')(fx.assetId, fx.meter.address)).toBe(true)
  })

  test('a third party proves the mispricing and the equivocation from the user’s published ledger: supporters slashed pro rata after the bond, pending stake untouched', async () => {
    // What a user publishes in a dispute: its ledger export. Anyone can prove from it.
    const published = clientFor(user).rma.ledger
    await published.ready
    const evidence = parseLedgerEvidence(JSON.stringify(published.exportJSON()))
    expect(evidence.domain).toEqual(domain)
    const fromExport = findFraud({
      domain,
      receipts: evidence.receipts,
      attestations: evidence.attestations,
      priceTables: [tree],
    })
    expect(fromExport.map((f) => f.kind)).toEqual([
      'equivocation',
      'overcharge',
      'mispricing',
      'mispricing',
    ])

    for (const [fraud, compensation] of [
      [fromExport[2]!, 40n],
      [fromExport[0]!, miniPrice],
    ] as const) {
      const before = await books()
      const expected = expectedSlash(before, compensation)
      const result = await proveFraud({
        fraud,
        signer: challenger,
        settlement: fx.settlementAddress as Address,
      })
      expect(result).toMatchObject({
        kind: fraud.kind,
        compensation: expected.toUser,
        bounty: expected.toChallenger,
        challenger: challenger.address.toLowerCase(),
      })
      const after = await books()
      expect(after.bond).toBe(0n)
      expectRiskReported(before, after, expected)
      expect(after.stakes.map(({ active, unbonding }) => ({ active, unbonding }))).toEqual(
        expected.stakes,
      )
      expect(after.balances[0]! - before.balances[0]!).toBe(compensation)
      expect(after.balances[1]! - before.balances[1]!).toBe(expected.toChallenger)
      expect(before.balances[3]! - after.balances[3]!).toBe(compensation + expected.toChallenger)
      expect(after.balances[3]).toBe(after.owed)
      // The late supporter's pending stake was never at risk.
      expect(after.stakes[2]).toEqual({ active: 0n, unbonding: 0n, slashed: 0n })
      const [pending] = (await settlement.getFunction('pendingStakeOf')(
        fx.assetId,
        late.address,
      )) as [bigint]
      expect(pending).toBe(5_000n)
      // Each supporter's slashed total is what its stake lost.
      for (const i of [0, 1])
        expect(after.stakes[i]!.slashed - before.stakes[i]!.slashed).toBe(
          before.stakes[i]!.active +
            before.stakes[i]!.unbonding -
            after.stakes[i]!.active -
            after.stakes[i]!.unbonding,
        )
    }
  })

  test('replays revert and move nothing: through the client nothing is sent', async () => {
    const before = await books()
    const nonce = await anvil.provider.getTransactionCount(user.address)
    const replay = await client.rma
      .prove(frauds.overcharge, { signer: user })
      .catch((error: unknown) => error)
    expect(replay).toBeInstanceOf(FraudProofRejectedError)
    expect(replay).toMatchObject({
      code: 'FRAUD_PROOF_REJECTED',
      reason: 'AlreadyProven',
      sent: false,
    })
    expect(await anvil.provider.getTransactionCount(user.address)).toBe(nonce)
    // Sent anyway (no dry run), the replay is mined and reverts.
    const overcharge = frauds.overcharge as Extract<Fraud, { kind: 'overcharge' }>
    const tx = await settlementAs(stranger)
      .getFunction('proveOvercharge')
      .send(
        toReceiptStruct(overcharge.receipt),
        overcharge.receipt.signature,
        toAttestationStruct(overcharge.attestation),
        overcharge.attestation.signature,
        { gasLimit: 1_000_000n },
      )
    await expect(tx.wait()).rejects.toMatchObject({ code: 'CALL_EXCEPTION' })
    expect(await books()).toEqual(before)
  })

  test('the asset stays frozen until the issuer posts the bond back and resumes', async () => {
    await expect(
      settlementAs(fx.settler)
        .getFunction('settle')
        .staticCall(fx.assetId, epoch + 1n, 0n, zeroHash, zeroHash, 0n, '', zeroHash),
    ).rejects.toMatchObject({
      revert: { name: 'AssetFrozen' },
    })
    await expect(
      settlementAs(fx.issuer).getFunction('resume').staticCall(fx.assetId),
    ).rejects.toMatchObject({
      revert: { name: 'BondTooLow' },
    })
    await expect(
      settlementAs(stranger).getFunction('resume').staticCall(fx.assetId),
    ).rejects.toMatchObject({
      revert: { name: 'NotIssuer' },
    })
    await mined(settlementAs(fx.issuer).getFunction('postBond')(fx.assetId, minBond))
    await mined(settlementAs(fx.issuer).getFunction('resume')(fx.assetId))
    await settleEpoch()
    const after = await books()
    expect(after).toMatchObject({ bond: minBond, frozen: false, meterAuthorised: false })
    expect(after.payouts.risk).toMatchObject({ bond: minBond, frozen: false })

    // Yield after the slashes: a settle's supporters' share goes to the stake left, pro rata
    // (the contract's accumulator replayed: floor(S × 1e36 / total stake) per unit, floored;
    // S is below the total stake, so the one-per-unit-per-epoch cap does not hold any back),
    // and `payouts()` reports each supporter's claimable rewards grown by exactly that.
    const revenue = 20_000n
    const share = splitRevenue(revenue, fx.shares).supporters
    await mined(settlementAs(fx.settler).getFunction('deposit')(fx.assetId, revenue))
    const { totalStake } = await fx.settlement.getAsset(fx.assetId)
    expect(share).toBeLessThan(totalStake)
    epoch++
    await mined(
      settlementAs(fx.settler).getFunction('settle')(
        fx.assetId,
        epoch,
        revenue,
        zeroHash,
        // The users' share needs a rebate root; no one claims from it here.
        `0x${'11'.repeat(32)}`,
        1n,
        '',
        zeroHash,
      ),
    )
    const paid = (await books()).payouts
    const perUnit = (share * 10n ** 36n) / totalStake
    expect(paid.supporters.funded - after.payouts.supporters.funded).toBe(share)
    for (const [i, s] of paid.risk.supporters.entries()) {
      const was = after.payouts.risk.supporters[i]!
      expect(was.active).toBeGreaterThan(0n)
      expect(s.claimableRewards - was.claimableRewards).toBe((was.active * perUnit) / 10n ** 36n)
    }
  })

  test('a fraud older than the proof window can no longer be proven', async () => {
    const window = (await settlement.getFunction('proofWindow')()) as bigint
    const stale = frauds.stale as Extract<Fraud, { kind: 'mispricing' }>
    await anvil.increaseTime(Number(window) + 60)
    const before = await books()
    const error = await client.rma.prove(stale, { signer: user }).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'FRAUD_PROOF_REJECTED',
      reason: 'ReceiptTooOld',
      sent: false,
    })
    expect(await books()).toEqual(before)
  })
  test('a receipt signed in another encoding the client accepts (EIP-2098 compact) is still provable: the proof sends it canonical', async () => {
    const chainNow = (await anvil.provider.getBlock('latest'))!.timestamp
    const attestation = await signAttestation({
      signer: user,
      domain,
      attestation: {
        assetId: fx.assetId as Hex,
        user: user.address.toLowerCase() as Address,
        requestHash: `0x${'42'.repeat(32)}`,
        nonce: 42n,
        expiry: chainNow + 60,
        maxAmount: 100n,
      },
    })
    const signed = await signReceipt({
      signer: new Wallet(fx.meter.privateKey),
      domain,
      receipt: {
        ...receiptOf(frauds.overcharge),
        seq: 9,
        requestHash: attestation.requestHash,
        attestation: hashAttestation(attestation, domain),
        amount: 150n,
        cumulativeAmount: 150n,
        timestamp: chainNow,
      },
    })
    const compact = {
      ...signed,
      signature: Signature.from(signed.signature).compactSerialized as Hex,
    }
    expect(compact.signature).toHaveLength(2 + 128)
    expect(verifyReceipt({ receipt: compact, domain })).toBe(true)
    const [fraud] = findFraud({ domain, receipts: [compact], attestations: [attestation] })
    expect(fraud).toMatchObject({ kind: 'overcharge', compensation: 50n })
    const before = await books()
    const result = await proveFraud({
      fraud: fraud!,
      signer: challenger,
      settlement: fx.settlementAddress as Address,
    })
    // B = max(50, minBond / 10 = 100), both from the bond posted back at resume.
    expect(result).toMatchObject({ kind: 'overcharge', compensation: 50n, bounty: 100n })
    const after = await books()
    expect(after.bond).toBe(before.bond - 150n)
    expect(after.balances[0]! - before.balances[0]!).toBe(50n)
    expect(after.balances[1]! - before.balances[1]!).toBe(100n)
    expect(after.balances[3]).toBe(after.owed)
  })
})

function smaller(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}

function receiptOf(fraud: Fraud): SignedUsageReceipt {
  return fraud.kind === 'equivocation' ? fraud.a : fraud.receipt
}
