import {
  AbiCoder,
  Contract,
  keccak256,
  MaxUint256,
  Signature,
  toBeHex,
  toUtf8Bytes,
  type Wallet,
} from 'ethers'
import { describe, expect, test } from 'vitest'
import {
  attestationDigest,
  domainOf,
  makeReceipt,
  priceOf,
  priceTree,
  receiptDigest,
  signAttestationStruct,
  signReceiptStruct,
} from '../test/fraud.js'
import {
  addAsset,
  argsOf,
  blockTime,
  eventsOf,
  expectRevert,
  mined,
  settleArgs,
  useSettlementFixture,
} from '../test/helpers.js'
import { rmaFraudVerifierAbi } from './artifacts/RMAFraudVerifier.js'
import { deploySettlement } from './deploySettlement.js'
import { registerAsset } from './registerAsset.js'
import type { AttestationStruct } from './toAttestationStruct.js'
import type { PriceEntryStruct } from './toPriceEntryStruct.js'
import type { ReceiptStruct } from './toReceiptStruct.js'

// Supporters 25%, users 15%; unbonding 7 days; the proof window is deploySettlement's 1 day.
const ctx = useSettlementFixture({}, 10)
const MIN_BOND = 1_000n

const people = () => {
  const [user, challenger, alice, bob, carol, griefer] = ctx.fx.others as [
    Wallet,
    Wallet,
    Wallet,
    Wallet,
    Wallet,
    Wallet,
  ]
  return { user, challenger, alice, bob, carol, griefer }
}

/** The owner sets a minimum bond of 1,000 and the issuer posts it. */
async function bonded(bond = MIN_BOND) {
  const { settlement, settlementAddress, token, owner, issuer, assetId, tokenAddress } = ctx.fx
  await mined(settlement.connect(owner).setMinBond(tokenAddress, MIN_BOND))
  await mined(token.mint(issuer.address, 10n ** 12n))
  await mined(token.connect(issuer).approve(settlementAddress, MaxUint256))
  if (bond > 0n) await mined(settlement.connect(issuer).postBond(assetId, bond))
}

async function settle(revenue: bigint) {
  const { settlement, assetId, settler } = ctx.fx
  const { epoch } = await settlement.getAsset(assetId)
  return mined(settlement.connect(settler).settle(...settleArgs(assetId, epoch + 1n, revenue)))
}

const domain = () => domainOf(ctx.fx.settlementAddress)

async function receipt(fields: Partial<ReceiptStruct> = {}): Promise<ReceiptStruct> {
  const { assetId, meter } = ctx.fx
  return makeReceipt({
    assetId: assetId as `0x${string}`,
    meter: meter.address,
    user: people().user.address,
    timestamp: await blockTime(ctx.anvil),
    ...fields,
  })
}

/** A receipt charging `amount` against an attestation capped at `maxAmount`, both signed. */
async function overcharge(amount: bigint, maxAmount: bigint, fields: Partial<ReceiptStruct> = {}) {
  const { user } = people()
  const r = await receipt({ amount, cumulativeAmount: amount, ...fields })
  const att: AttestationStruct = {
    assetId: r.assetId,
    user: user.address,
    requestHash: r.requestHash,
    nonce: 7n,
    expiry: r.timestamp + 600n,
    maxAmount,
  }
  r.attestation = attestationDigest(domain(), att) as `0x${string}`
  const sigR = await signReceiptStruct(ctx.fx.meter, domain(), r)
  const sigAtt = await signAttestationStruct(user, domain(), att)
  return { r, sigR, att, sigAtt }
}

/** Token balances of the contract and of the given accounts, and the asset's books. */
async function snapshot(...accounts: string[]) {
  const { settlement, settlementAddress, token, assetId } = ctx.fx
  const risk = await settlement.riskOf(assetId)
  return {
    contract: await token.balanceOf(settlementAddress),
    ledger: await settlement.ledgerOf(assetId),
    accounts: await Promise.all(accounts.map((a) => token.balanceOf(a))),
    risk: [...risk],
    meter: await settlement.isMeter(assetId, ctx.fx.meter.address),
  }
}

/** One asset, no prepaid balances: the contract holds exactly its ledger. */
async function expectBooksBalance() {
  const s = await snapshot()
  expect(s.contract).toBe(s.ledger)
}

describe('bond', () => {
  test('registration pulls minBondOf(token) as measured; postBond adds; the bond is in the ledger', async () => {
    const { settlement, owner, tokenAddress, token, settlementAddress } = ctx.fx
    const { griefer: issuer2, carol: settler2 } = people()
    await mined(settlement.connect(owner).setMinBond(tokenAddress, 2_500n))
    expect(await settlement.minBondOf(tokenAddress)).toBe(2_500n)
    const before = await token.balanceOf(issuer2.address)
    const asset2 = await addAsset(ctx.fx, { issuer: issuer2, settler: settler2 })
    expect(await token.balanceOf(issuer2.address)).toBe(before - 2_500n)
    expect(await settlement.bondOf(asset2)).toBe(2_500n)
    expect(await settlement.ledgerOf(asset2)).toBe(2_500n)
    await mined(settlement.connect(settler2).postBond(asset2, 500n))
    expect(await settlement.bondOf(asset2)).toBe(3_000n)
    expect(await token.balanceOf(settlementAddress)).toBe(3_000n)
    await expectRevert(
      settlement.connect(issuer2).setMinBond(tokenAddress, 1n),
      'OwnableUnauthorizedAccount',
    )
    await expectRevert(settlement.connect(issuer2).postBond(asset2, 0n), 'ZeroAmount')
  })

  test('exit rule: no withdrawal while a meter is authorised, then only after the proof window', async () => {
    const { settlement, assetId, issuer, meter, token } = ctx.fx
    await bonded()
    await expectRevert(settlement.connect(issuer).withdrawBond(assetId, 1n), 'BondLocked', [0n])
    await mined(settlement.connect(issuer).setMeter(assetId, meter.address, false))
    const revokedAt = await blockTime(ctx.anvil)
    const window = await settlement.proofWindow()
    await expectRevert(settlement.connect(issuer).withdrawBond(assetId, 1n), 'BondLocked', [
      revokedAt + window + 1n,
    ])
    await ctx.anvil.increaseTime(Number(window) + 1)
    await expectRevert(settlement.connect(people().griefer).withdrawBond(assetId, 1n), 'NotIssuer')
    await expectRevert(
      settlement.connect(issuer).withdrawBond(assetId, MIN_BOND + 1n),
      'InsufficientBond',
      [MIN_BOND],
    )
    const before = await token.balanceOf(issuer.address)
    await mined(settlement.connect(issuer).withdrawBond(assetId, MIN_BOND))
    expect(await token.balanceOf(issuer.address)).toBe(before + MIN_BOND)
    expect(await settlement.bondOf(assetId)).toBe(0n)
    await expectBooksBalance()
  })

  test('the proof window is a deployment immutable; unbonding delays below it are refused', async () => {
    const { owner, issuer, tokenAddress, settler } = ctx.fx
    const { contract } = await deploySettlement(owner, { proofWindow: 2 * 86_400 })
    expect(await contract.proofWindow()).toBe(172_800n)
    const base = {
      salt: keccak256(toUtf8Bytes('w')),
      token: tokenAddress,
      settler: settler.address,
      issuerBps: 10_000,
      supportersBps: 0,
      usersBps: 0,
    }
    await expectRevert(
      registerAsset(contract.connect(issuer), { ...base, unbondingDelay: 86_400 }),
      'InvalidUnbondingDelay',
    )
    await registerAsset(contract.connect(issuer), { ...base, unbondingDelay: 2 * 86_400 })
    await expect(deploySettlement(owner, { proofWindow: 0 })).rejects.toThrow()
  })
})

describe('proveOvercharge', () => {
  test('a third-party challenger: the user gets the excess, the challenger the bounty, from the bond; meter revoked, asset frozen', async () => {
    const { settlement, assetId, meter, settler, issuer } = ctx.fx
    const { user, challenger } = people()
    await bonded()
    await settle(1_000n) // a settled epoch: the asset settles postpaid
    const { r, sigR, att, sigAtt } = await overcharge(150n, 100n)
    const before = await snapshot(user.address, challenger.address)
    const tx = await mined(settlement.connect(challenger).proveOvercharge(r, sigR, att, sigAtt))
    // C = 50, B = max(50, 1000 / 10) = 100, both from the bond.
    const after = await snapshot(user.address, challenger.address)
    expect(after.accounts).toEqual([before.accounts[0]! + 50n, before.accounts[1]! + 100n])
    expect(after.contract).toBe(before.contract - 150n)
    expect(after.ledger).toBe(before.ledger - 150n)
    expect(after.risk).toEqual([MIN_BOND - 150n, true, 150n, 0n])
    expect(after.meter).toBe(false)
    expect(await settlement.wasMeter(assetId, meter.address)).toBe(true)
    expect(await settlement.isProven(assetId, meter.address, user.address, 1n)).toBe(true)
    expect(argsOf(eventsOf(settlement, tx, 'FraudProven')[0])).toEqual({
      assetId,
      meter: meter.address,
      user: user.address,
      kind: 2n,
      receiptHash: receiptDigest(domain(), r),
      compensation: 50n,
      bounty: 100n,
      challenger: challenger.address,
    })
    console.log('gas proveOvercharge:', tx.gasUsed)
    // Frozen: no settlement in either mode until the issuer resumes with the bond restored.
    const { epoch } = await settlement.getAsset(assetId)
    await expectRevert(
      settlement.connect(settler).settle(...settleArgs(assetId, epoch + 1n, 10n)),
      'AssetFrozen',
    )
    await expectRevert(
      settlement.connect(settler).settlePrepaid(assetId, []),
      'SettlementModeMismatch',
    )
    await expectRevert(settlement.connect(challenger).resume(assetId), 'NotIssuer')
    await expectRevert(settlement.connect(issuer).resume(assetId), 'BondTooLow', [MIN_BOND])
    await mined(settlement.connect(issuer).postBond(assetId, 150n))
    const resumed = await mined(settlement.connect(issuer).resume(assetId))
    expect(eventsOf(settlement, resumed, 'AssetResumed')).toHaveLength(1)
    await expectRevert(settlement.connect(issuer).resume(assetId), 'NotFrozen')
    await settle(10n)
    await expectBooksBalance()
  })

  test('a frozen prepaid asset refuses settlePrepaid; the user as its own challenger gets both', async () => {
    const { settlement, assetId, settler } = ctx.fx
    const { user } = people()
    await bonded()
    await mined(settlement.connect(settler).settlePrepaid(assetId, [])) // fixes prepaid mode
    const { r, sigR, att, sigAtt } = await overcharge(400n, 100n)
    const before = await snapshot(user.address)
    await mined(settlement.connect(user).proveOvercharge(r, sigR, att, sigAtt))
    const after = await snapshot(user.address)
    // C = 300, B = 300.
    expect(after.accounts[0]).toBe(before.accounts[0]! + 600n)
    await expectRevert(settlement.connect(settler).settlePrepaid(assetId, []), 'AssetFrozen')
    await expectBooksBalance()
  })

  test('slashes the bond first, then active and unbonding stake pro rata; pending stake is untouched; rewards stay exact', async () => {
    const { settlement, assetId, issuer } = ctx.fx
    const { user, challenger, alice, bob, carol } = people()
    await bonded()
    await mined(settlement.connect(alice).stake(assetId, 3_000n))
    await mined(settlement.connect(bob).stake(assetId, 1_000n))
    await settle(0n) // activates 4,000
    await settle(8_000n) // supporters 2,000: alice 1,500, bob 500
    await mined(settlement.connect(bob).requestUnstake(assetId, 500n))
    await mined(settlement.connect(carol).stake(assetId, 700n)) // pending: not at risk
    const { r, sigR, att, sigAtt } = await overcharge(1_600n, 100n)
    const before = await snapshot(user.address, challenger.address)
    const tx = await mined(settlement.connect(challenger).proveOvercharge(r, sigR, att, sigAtt))
    console.log('gas proveOvercharge (bond + stake slash):', tx.gasUsed)
    // C = 1,500, B = 1,500: 1,000 from the bond, 2,000 of the 4,000 at risk (half of each).
    const after = await snapshot(user.address, challenger.address)
    expect(after.accounts).toEqual([before.accounts[0]! + 1_500n, before.accounts[1]! + 1_500n])
    expect(after.contract).toBe(before.contract - 3_000n)
    expect(after.risk).toEqual([0n, true, 3_000n, 0n])
    expect([...(await settlement.stakeAtRiskOf(assetId, alice.address))]).toEqual([
      1_500n,
      0n,
      1_500n,
    ])
    expect([...(await settlement.stakeAtRiskOf(assetId, bob.address))]).toEqual([250n, 250n, 500n])
    expect([...(await settlement.stakeAtRiskOf(assetId, carol.address))]).toEqual([0n, 0n, 0n])
    expect((await settlement.pendingStakeOf(assetId, carol.address)).amount).toBe(700n)
    const asset = await settlement.getAsset(assetId)
    expect([asset.totalStake, asset.totalUnbonding, asset.pendingStake]).toEqual([
      1_750n,
      250n,
      700n,
    ])
    // Rewards earned before the slash are kept.
    expect(await settlement.claimableRewards(assetId, alice.address)).toBe(1_500n)
    expect(await settlement.claimableRewards(assetId, bob.address)).toBe(500n)
    await expectBooksBalance()
    // Resume and settle: the next supporters' share is credited on the slashed stake.
    await mined(settlement.connect(issuer).postBond(assetId, MIN_BOND))
    await mined(settlement.connect(issuer).resume(assetId))
    await settle(7_000n) // supporters 1,750 over 1,750 active: alice +1,500, bob +250; carol activates
    expect(await settlement.claimableRewards(assetId, alice.address)).toBe(3_000n)
    expect(await settlement.claimableRewards(assetId, bob.address)).toBe(750n)
    expect(await settlement.claimableRewards(assetId, carol.address)).toBe(0n)
    await settle(2_400n) // supporters 600 over 2,450: alice 1,500/2,450, bob 250, carol 700
    const aliceRewards = await settlement.claimableRewards(assetId, alice.address)
    const carolRewards = await settlement.claimableRewards(assetId, carol.address)
    expect(aliceRewards).toBe(3_000n + (600n * 1_500n) / 2_450n)
    expect(carolRewards).toBe((600n * 700n) / 2_450n)
    // Bob's unbonding half pays out after the delay; everyone can leave with what is left.
    await ctx.anvil.increaseTime(7 * 86_400)
    const bobBefore = await ctx.fx.token.balanceOf(bob.address)
    await mined(settlement.connect(bob)['withdraw(bytes32)'](assetId))
    expect(await ctx.fx.token.balanceOf(bob.address)).toBe(bobBefore + 250n)
    for (const s of [alice, bob, carol]) {
      await mined(settlement.connect(s).claimRewards(assetId))
      const { active } = await settlement.stakeOf(assetId, s.address)
      await mined(settlement.connect(s).requestUnstake(assetId, active))
    }
    await ctx.anvil.increaseTime(7 * 86_400)
    for (const s of [alice, bob, carol])
      await mined(settlement.connect(s)['withdraw(bytes32)'](assetId))
    const end = await settlement.getAsset(assetId)
    expect([end.totalStake, end.totalUnbonding, end.pendingStake]).toEqual([0n, 0n, 0n])
    await expectBooksBalance()
  })

  test('when bond and stake fall short, the user is paid first', async () => {
    const { settlement } = ctx.fx
    const { user, challenger } = people()
    await bonded()
    const { r, sigR, att, sigAtt } = await overcharge(900n, 100n) // C = 800, B = 800, only 1,000
    const before = await snapshot(user.address, challenger.address)
    const tx = await mined(settlement.connect(challenger).proveOvercharge(r, sigR, att, sigAtt))
    const after = await snapshot(user.address, challenger.address)
    expect(after.accounts).toEqual([before.accounts[0]! + 800n, before.accounts[1]! + 200n])
    const proven = argsOf(eventsOf(settlement, tx, 'FraudProven')[0])
    expect([proven.compensation, proven.bounty]).toEqual([800n, 200n])
    expect(after.risk).toEqual([0n, true, 1_000n, 0n])
    await expectBooksBalance()
  })

  test("a revoked meter's receipts stay provable within the window", async () => {
    const { settlement, assetId, issuer, meter } = ctx.fx
    const { user } = people()
    await bonded()
    const proof = await overcharge(150n, 100n)
    await mined(settlement.connect(issuer).setMeter(assetId, meter.address, false))
    const before = await snapshot(user.address)
    await mined(
      settlement.connect(user).proveOvercharge(proof.r, proof.sigR, proof.att, proof.sigAtt),
    )
    expect((await snapshot(user.address)).accounts[0]).toBe(before.accounts[0]! + 150n)
  })
})

/** Storage of the settlement contract (slot numbers of `_risk` and `_slashes`, see the source). */
const RISK_SLOT = 13n
const SLASHES_SLOT = 14n
const mapSlot = (key: string | bigint, slot: bigint) =>
  BigInt(
    keccak256(
      AbiCoder.defaultAbiCoder().encode(
        [typeof key === 'string' ? 'bytes32' : 'uint256', 'uint256'],
        [key, slot],
      ),
    ),
  )

describe('the stake slash record: one slot, bounds enforced', () => {
  test('stake at the bound (2^96 - 1): the record holds num, den and epoch exactly; supporters are scaled by them', async () => {
    const { settlement, settlementAddress, token, assetId } = ctx.fx
    const { alice } = people()
    await bonded(0n)
    const max = 2n ** 96n - 1n
    await mined(token.mint(alice.address, max))
    await mined(settlement.connect(alice).stake(assetId, max))
    await settle(0n)
    await mined(settlement.connect(alice).requestUnstake(assetId, 12_345n))
    const { r, sigR, att, sigAtt } = await overcharge(1_600n, 100n) // C = B = 1,500: 3,000 slashed
    await mined(settlement.connect(people().challenger).proveOvercharge(r, sigR, att, sigAtt))
    const num = max - 3_000n
    const provider = ctx.anvil.provider
    const risk = mapSlot(assetId, RISK_SLOT)
    // Slot 0 of the risk books: bond 0, totalSlashed 3,000, no meter left (the probe that the
    // slot numbers are right); slot 1: one slash recorded, its rounding unit owed to the protocol.
    expect(BigInt(await provider.getStorage(settlementAddress, risk))).toBe(3_000n << 112n)
    const activeLeft = ((max - 12_345n) * num) / max
    const unbondingLeft = (12_345n * num) / max
    const dust = max - activeLeft - unbondingLeft - 3_000n
    const risk1 = BigInt(await provider.getStorage(settlementAddress, risk + 1n))
    expect([(risk1 >> 128n) & 0xffffffffn, risk1 >> 160n]).toEqual([1n, dust])
    const record = BigInt(
      await provider.getStorage(settlementAddress, mapSlot(0n, mapSlot(assetId, SLASHES_SLOT))),
    )
    expect(record).toBe(num | (max << 96n) | (1n << 192n))
    expect([...(await settlement.stakeAtRiskOf(assetId, alice.address))]).toEqual([
      activeLeft,
      unbondingLeft,
      max - activeLeft - unbondingLeft,
    ])
    const asset = await settlement.getAsset(assetId)
    expect([asset.totalStake, asset.totalUnbonding, asset.protocolOwed]).toEqual([
      activeLeft,
      unbondingLeft,
      dust,
    ])
    await expectBooksBalance()
  })

  test('the 2^32nd slash of an asset reverts (the count never wraps) and moves nothing', async () => {
    const { settlement, settlementAddress, assetId } = ctx.fx
    const { alice, challenger } = people()
    await bonded(0n)
    await mined(settlement.connect(alice).stake(assetId, 10_000n))
    await settle(0n)
    const provider = ctx.anvil.provider
    const risk1 = mapSlot(assetId, RISK_SLOT) + 1n
    const word = BigInt(await provider.getStorage(settlementAddress, risk1))
    const full = word | (0xffffffffn << 128n)
    await provider.send('anvil_setStorageAt', [
      settlementAddress,
      toBeHex(risk1),
      toBeHex(full, 32),
    ])
    const { r, sigR, att, sigAtt } = await overcharge(1_600n, 100n)
    const before = await snapshot(people().user.address, challenger.address)
    const error = await settlement
      .connect(challenger)
      .proveOvercharge(r, sigR, att, sigAtt)
      .then(
        () => null,
        (e: unknown) => e as { data?: string },
      )
    // Panic(0x11): checked arithmetic, not a silent wrap.
    expect(error?.data).toBe(`0x4e487b71${'11'.padStart(64, '0')}`)
    expect(await snapshot(people().user.address, challenger.address)).toEqual(before)
    expect(BigInt(await provider.getStorage(settlementAddress, risk1))).toBe(full)
  })
})

describe('proveEquivocation', () => {
  test('two receipts of one seq: compensation is the larger amount', async () => {
    const { settlement, assetId, meter } = ctx.fx
    const { user, challenger } = people()
    await bonded()
    const a = await receipt({ amount: 100n })
    const b = { ...a, amount: 300n, cumulativeAmount: 300n }
    const sigA = await signReceiptStruct(meter, domain(), a)
    const sigB = await signReceiptStruct(meter, domain(), b)
    const before = await snapshot(user.address, challenger.address)
    const tx = await mined(settlement.connect(challenger).proveEquivocation(a, sigA, b, sigB))
    console.log('gas proveEquivocation:', tx.gasUsed)
    const after = await snapshot(user.address, challenger.address)
    expect(after.accounts).toEqual([before.accounts[0]! + 300n, before.accounts[1]! + 300n])
    expect(argsOf(eventsOf(settlement, tx, 'FraudProven')[0]).kind).toBe(1n)
    expect(after.risk).toEqual([MIN_BOND - 600n, true, 600n, 0n])
    // Either order, once per chain position.
    await expectRevert(
      settlement.connect(challenger).proveEquivocation(b, sigB, a, sigA),
      'AlreadyProven',
    )
    expect(await settlement.isProven(assetId, meter.address, user.address, 1n)).toBe(true)
    await expectBooksBalance()
  })
})

describe('proveMispricing', () => {
  const entries: PriceEntryStruct[] = [
    {
      model: 'gpt-4o',
      input: 2_500_000n,
      cachedInput: 1_250_000n,
      cacheWrite: 3_000_000n,
      output: 10_000_000n,
      reasoning: 12_000_000n,
    },
    {
      model: 'gpt-4o-mini',
      input: 150_000n,
      cachedInput: 75_000n,
      cacheWrite: 150_000n,
      output: 600_000n,
      reasoning: 600_000n,
    },
    {
      model: 'o3',
      input: 2_000_000n,
      cachedInput: 500_000n,
      cacheWrite: 2_000_000n,
      output: 8_000_000n,
      reasoning: 8_000_000n,
    },
  ]
  const tree = priceTree(entries)
  const tokens = {
    inputTokens: 1_000n,
    cachedInputTokens: 200n,
    cacheWriteTokens: 100n,
    outputTokens: 500n,
    reasoningTokens: 100n,
  }

  async function committed() {
    const { settlement, assetId, issuer } = ctx.fx
    await bonded()
    const tx = await mined(
      settlement
        .connect(issuer)
        .commitPriceTable(assetId, tree.root, 1_700_000_000n, 'ipfs://table'),
    )
    expect(argsOf(eventsOf(settlement, tx, 'PriceTableCommitted')[0])).toEqual({
      assetId,
      root: tree.root,
      version: 1n,
      effectiveFrom: 1_700_000_000n,
      uri: 'ipfs://table',
    })
  }

  test('a snapshot-named receipt priced above its base entry: compensation is the difference', async () => {
    const { settlement, assetId, meter } = ctx.fx
    const { user, challenger } = people()
    await committed()
    expect([...(await settlement.priceTableOf(assetId, tree.root))]).toEqual([1n, 1_700_000_000n])
    const entry = entries[0]!
    const r = await receipt({
      model: 'gpt-4o-2024-08-06',
      priceTable: tree.root as `0x${string}`,
      ...tokens,
    })
    const price = priceOf(entry, r)
    // (1,000 − 200 − 100)·2.5 + 200·1.25 + 100·3 + (500 − 100)·10 + 100·12 = 7,500
    expect(price).toBe(7_500n)
    r.amount = price + 40n
    r.cumulativeAmount = r.amount
    const sig = await signReceiptStruct(meter, domain(), r)
    const verifier = new Contract(
      await settlement.fraudVerifier(),
      rmaFraudVerifierAbi,
      ctx.anvil.provider,
    )
    expect(await verifier.priceOf!(entry, r)).toBe(price)
    const before = await snapshot(user.address, challenger.address)
    const tx = await mined(
      settlement.connect(challenger).proveMispricing(r, sig, entry, tree.proofOf(0)),
    )
    console.log('gas proveMispricing:', tx.gasUsed)
    const after = await snapshot(user.address, challenger.address)
    expect(after.accounts).toEqual([before.accounts[0]! + 40n, before.accounts[1]! + 100n])
    expect(argsOf(eventsOf(settlement, tx, 'FraudProven')[0]).kind).toBe(3n)
    await expectBooksBalance()
  })

  test('bad inputs revert with their error and move nothing', async () => {
    const { settlement, assetId, meter, issuer } = ctx.fx
    const { challenger, user } = people()
    await committed()
    const base = await receipt({
      model: 'gpt-4o-mini',
      priceTable: tree.root as `0x${string}`,
      ...tokens,
    })
    const price = priceOf(entries[1]!, base)
    const signed = async (r: ReceiptStruct) =>
      [r, await signReceiptStruct(meter, domain(), r)] as const
    const before = await snapshot(user.address, challenger.address)
    // Honest (charged exactly the price), and undercharged: not a fraud.
    const [honest, sigHonest] = await signed({ ...base, amount: price })
    await expectRevert(
      settlement
        .connect(challenger)
        .proveMispricing(honest, sigHonest, entries[1]!, tree.proofOf(1)),
      'NotFraud',
    )
    const [under, sigUnder] = await signed({ ...base, amount: price - 1n })
    await expectRevert(
      settlement.connect(challenger).proveMispricing(under, sigUnder, entries[1]!, tree.proofOf(1)),
      'NotFraud',
    )
    const [over, sigOver] = await signed({ ...base, amount: price + 1_000n })
    // Another model's entry (a cheaper price cannot be borrowed), a wrong proof, a forged entry.
    await expectRevert(
      settlement.connect(challenger).proveMispricing(over, sigOver, entries[0]!, tree.proofOf(0)),
      'ModelMismatch',
    )
    await expectRevert(
      settlement.connect(challenger).proveMispricing(over, sigOver, entries[1]!, tree.proofOf(2)),
      'InvalidPriceProof',
    )
    await expectRevert(
      settlement
        .connect(challenger)
        .proveMispricing(over, sigOver, { ...entries[1]!, output: 1n }, tree.proofOf(1)),
      'InvalidPriceProof',
    )
    // A table that was never committed for the asset.
    const other = priceTree([{ ...entries[1]!, output: 1n }, entries[0]!])
    const [uncommitted, sigUncommitted] = await signed({
      ...over,
      priceTable: other.root as `0x${string}`,
    })
    await expectRevert(
      settlement
        .connect(challenger)
        .proveMispricing(
          uncommitted,
          sigUncommitted,
          { ...entries[1]!, output: 1n },
          other.proofOf(0),
        ),
      'PriceTableNotCommitted',
    )
    // The table cannot be committed twice, nor by anyone but the issuer.
    await expectRevert(
      settlement.connect(issuer).commitPriceTable(assetId, tree.root, 0n, ''),
      'PriceTableExists',
    )
    await expectRevert(
      settlement.connect(challenger).commitPriceTable(assetId, other.root, 0n, ''),
      'NotIssuer',
    )
    expect(await snapshot(user.address, challenger.address)).toEqual(before)
    expect(before.risk[1]).toBe(false)
  })
})

describe('a griefer without a valid proof cannot freeze the asset or move anything', () => {
  test('every bad receipt, signature and attestation reverts with its error', async () => {
    const { settlement, settlementAddress } = ctx.fx
    const { user, challenger, griefer } = people()
    await bonded()
    const before = await snapshot(user.address, challenger.address, griefer.address)
    const g = settlement.connect(griefer)

    // A meter never authorised for the asset (the griefer's own key).
    const own = await overcharge(500n, 100n, { meter: griefer.address })
    own.sigR = await signReceiptStruct(griefer, domain(), own.r)
    await expectRevert(
      g.proveOvercharge(own.r, own.sigR, own.att, own.sigAtt),
      'MeterNotAuthorised',
    )

    // Signed for another chain or another contract, or altered after signing: bad signature.
    const p = await overcharge(500n, 100n)
    for (const other of [domainOf(settlementAddress, 1n), domainOf(griefer.address)]) {
      const sig = await signReceiptStruct(ctx.fx.meter, other, p.r)
      await expectRevert(g.proveOvercharge(p.r, sig, p.att, p.sigAtt), 'InvalidReceiptSignature')
    }
    await expectRevert(
      g.proveOvercharge({ ...p.r, amount: 600n }, p.sigR, p.att, p.sigAtt),
      'InvalidReceiptSignature',
    )
    // The malleable high-s twin of a valid signature.
    const sig = Signature.from(p.sigR)
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const highS = `0x${sig.r.slice(2)}${(n - BigInt(sig.s)).toString(16).padStart(64, '0')}${(sig.v === 27 ? 28 : 27).toString(16)}`
    await expectRevert(g.proveOvercharge(p.r, highS, p.att, p.sigAtt), 'InvalidReceiptSignature')
    await expectRevert(g.proveOvercharge(p.r, '0x1234', p.att, p.sigAtt), 'InvalidReceiptSignature')

    // A forged attestation (signed by the griefer), or one for another request or cap.
    const forged = await signAttestationStruct(griefer, domain(), p.att)
    await expectRevert(g.proveOvercharge(p.r, p.sigR, p.att, forged), 'InvalidAttestationSignature')
    const otherAtt = { ...p.att, requestHash: keccak256(toUtf8Bytes('other')) as `0x${string}` }
    const otherSig = await signAttestationStruct(user, domain(), otherAtt)
    await expectRevert(g.proveOvercharge(p.r, p.sigR, otherAtt, otherSig), 'AttestationMismatch')
    // An attestation with a lower cap for the same request: not the one the receipt answers.
    const lowerAtt = { ...p.att, maxAmount: 1n }
    const lowerSig = await signAttestationStruct(user, domain(), lowerAtt)
    await expectRevert(g.proveOvercharge(p.r, p.sigR, lowerAtt, lowerSig), 'AttestationMismatch')
    // Within the cap: not a fraud.
    const fair = await overcharge(100n, 100n)
    await expectRevert(g.proveOvercharge(fair.r, fair.sigR, fair.att, fair.sigAtt), 'NotFraud')

    // Equivocation: the same receipt twice, or two receipts of different seqs.
    await expectRevert(g.proveEquivocation(p.r, p.sigR, p.r, p.sigR), 'IdenticalReceipts')
    const next = { ...p.r, seq: 2n }
    const nextSig = await signReceiptStruct(ctx.fx.meter, domain(), next)
    await expectRevert(g.proveEquivocation(p.r, p.sigR, next, nextSig), 'NotSameSeq')

    // Too old: past the proof window.
    const old = await overcharge(500n, 100n, { timestamp: (await blockTime(ctx.anvil)) - 86_401n })
    await expectRevert(g.proveOvercharge(old.r, old.sigR, old.att, old.sigAtt), 'ReceiptTooOld')

    expect(await snapshot(user.address, challenger.address, griefer.address)).toEqual(before)
    expect(before.risk[1]).toBe(false)

    // Replay: a proven receipt pays once, whichever proof names it.
    await mined(g.proveOvercharge(p.r, p.sigR, p.att, p.sigAtt))
    await expectRevert(g.proveOvercharge(p.r, p.sigR, p.att, p.sigAtt), 'AlreadyProven')
    await expectBooksBalance()
  })
})

describe('the verifier', () => {
  test("its digests equal ethers' EIP-712 hashes under the settlement contract's domain", async () => {
    const { settlement } = ctx.fx
    const verifier = new Contract(
      await settlement.fraudVerifier(),
      rmaFraudVerifierAbi,
      ctx.anvil.provider,
    )
    const separator = await settlement.domainSeparator()
    for (let i = 0; i < 5; i++) {
      const { r, att } = await overcharge(BigInt(i * 997 + 1), BigInt(i), {
        seq: BigInt(i + 1),
        model: `model-${i}-${'x'.repeat(i * 13)}`,
        inputTokens: BigInt(i * 1_000_003),
        cacheWriteTokens: BigInt(i),
        usageSource: i % 3,
      })
      expect(await verifier.receiptDigest!(separator, r)).toBe(receiptDigest(domain(), r))
      expect(await verifier.attestationDigest!(separator, att)).toBe(
        attestationDigest(domain(), att),
      )
    }
    for (const [model, entry, match] of [
      ['gpt-4o-2024-08-06', 'gpt-4o', true],
      ['gpt-4-0613', 'gpt-4', true],
      ['gpt-4o', 'gpt-4o', true],
      ['gpt-4o-2024-08-06', 'gpt-4o-2024', false],
      ['gpt-4o-mini', 'gpt-4o', false],
      ['gpt-4o-2024-8-06', 'gpt-4o', false],
      ['-0613', '', false],
    ] as const) {
      expect(await verifier.modelMatches!(model, entry), `${model} / ${entry}`).toBe(match)
    }
  })
})
