import { type Address, createDomain, type Hex, hashAck, signAck, splitRevenue } from '@rma/core'
import { keccak256, MaxUint256, Signature, toBeHex, type Wallet } from 'ethers'
import { describe, expect, test } from 'vitest'
import {
  addAsset,
  argsOf,
  blockTime,
  eventsOf,
  expectRevert,
  mined,
  useSettlementFixture,
} from '../test/helpers.js'
import { ackDigestOf, rmaDomain, signVoucher } from '../test/vouchers.js'
import { deploySettlement } from './deploySettlement.js'
import { deployTestToken } from './deployTestToken.js'
import { toVoucher } from './toVoucher.js'
import type { RmaSettlementContract, TestTokenContract } from './types.js'

// Odd shares, so that every split and every rebate rounds.
const shares = { issuerBps: 5999, supportersBps: 2501, usersBps: 1333, protocolBps: 167 }
const DAY = 24 * 3600
const receiptHash = (n: number) => keccak256(toBeHex(n, 32))

/** The token balance of the contract against everything it owes in the token. */
async function books(settlement: RmaSettlementContract, token: TestTokenContract, ids: string[]) {
  const [balance, prepaid, ...ledgers] = await Promise.all([
    token.balanceOf(await settlement.getAddress()),
    settlement.prepaidTotalOf(await token.getAddress()),
    ...ids.map((id) => settlement.ledgerOf(id)),
  ])
  return { balance, owed: prepaid + ledgers.reduce((a, b) => a + b, 0n), prepaid }
}

describe('prepaid balances', () => {
  const ctx = useSettlementFixture({ shares })

  test('anyone deposits for a user; what arrived is credited; bad deposits are refused', async () => {
    const { settlement, tokenAddress, others } = ctx.fx
    const [alice, friend] = [others[0]!, others[1]!]
    const receipt = await mined(
      settlement.connect(friend).depositFor(tokenAddress, alice.address, 1_000_000n),
    )
    expect(argsOf(eventsOf(settlement, receipt, 'PrepaidDeposited')[0])).toEqual({
      token: tokenAddress,
      user: alice.address,
      from: friend.address,
      amount: 1_000_000n,
    })
    const balance = await settlement.prepaidBalance(tokenAddress, alice.address)
    expect([...balance]).toEqual([1_000_000n, 0n, 0n])
    expect(await settlement.prepaidTotalOf(tokenAddress)).toBe(1_000_000n)
    await expectRevert(
      settlement.connect(friend).depositFor(tokenAddress, alice.address, 0n),
      'ZeroAmount',
    )
    await expectRevert(
      settlement.connect(friend).depositFor(tokenAddress, `0x${'00'.repeat(20)}`, 1n),
      'ZeroAddress',
    )
    // A token no asset is paid in could pay nothing: refused before anything moves.
    const { address: stray } = await deployTestToken(ctx.fx.owner)
    await expectRevert(
      settlement.connect(friend).depositFor(stray, alice.address, 1n),
      'UnknownToken',
    )
  })

  test('a fee-on-transfer token credits what arrived, and the books still balance', async () => {
    const { settlement, owner, issuer, settler, others } = ctx.fx
    const [alice] = others as [Wallet]
    const { contract: fot, address: fotAddress } = await deployTestToken(owner, {
      kind: 'feeOnTransfer',
    })
    await mined(fot.mint(alice.address, 10n ** 9n))
    await mined(fot.connect(alice).approve(ctx.fx.settlementAddress, MaxUint256))
    const id = await addAsset(ctx.fx, { issuer, settler, token: fotAddress })
    const receipt = await mined(
      settlement.connect(alice).depositFor(fotAddress, alice.address, 100_000n),
    )
    expect(argsOf(eventsOf(settlement, receipt, 'PrepaidDeposited')[0]).amount).toBe(99_000n)
    expect((await settlement.prepaidBalance(fotAddress, alice.address)).balance).toBe(99_000n)
    const b = await books(settlement, fot, [id])
    expect(b.balance).toBe(99_000n)
    expect(b.owed).toBe(99_000n)
  })

  test('depositWithPermit: the user signs a permit, anyone submits; a forged permit moves nothing', async () => {
    const { settlement, token, tokenAddress, settlementAddress, others } = ctx.fx
    const [alice, relayer, mallory] = [others[0]!, others[1]!, others[2]!]
    const chainId = (await ctx.anvil.provider.getNetwork()).chainId
    const deadline = (await blockTime(ctx.anvil)) + 3600n
    const permit = async (signer: Wallet, amount: bigint) =>
      Signature.from(
        await signer.signTypedData(
          { name: 'Test USD', version: '1', chainId, verifyingContract: tokenAddress },
          {
            Permit: [
              { name: 'owner', type: 'address' },
              { name: 'spender', type: 'address' },
              { name: 'value', type: 'uint256' },
              { name: 'nonce', type: 'uint256' },
              { name: 'deadline', type: 'uint256' },
            ],
          },
          {
            owner: alice.address,
            spender: settlementAddress,
            value: amount,
            nonce: await token.nonces(alice.address),
            deadline,
          },
        ),
      )
    // Alice has no standing allowance: only her permit lets the contract pull from her.
    await mined(token.connect(alice).approve(settlementAddress, 0n))
    const before = await token.balanceOf(alice.address)
    const forged = await permit(mallory, 500n)
    await expectRevert(
      settlement
        .connect(mallory)
        .depositWithPermit(
          tokenAddress,
          alice.address,
          500n,
          deadline,
          forged.v,
          forged.r,
          forged.s,
        ),
      'ERC2612InvalidSigner',
    )
    expect(await token.balanceOf(alice.address)).toBe(before)
    const signed = await permit(alice, 500n)
    await mined(
      settlement
        .connect(relayer)
        .depositWithPermit(
          tokenAddress,
          alice.address,
          500n,
          deadline,
          signed.v,
          signed.r,
          signed.s,
        ),
    )
    expect(await token.balanceOf(alice.address)).toBe(before - 500n)
    expect((await settlement.prepaidBalance(tokenAddress, alice.address)).balance).toBe(500n)
    // The permit is used up: replaying it fails.
    await expectRevert(
      settlement
        .connect(relayer)
        .depositWithPermit(
          tokenAddress,
          alice.address,
          500n,
          deadline,
          signed.v,
          signed.r,
          signed.s,
        ),
      'ERC2612InvalidSigner',
    )
  })

  test('a token without permit whose fallback accepts the call (WETH-like) cannot move a user’s approved tokens', async () => {
    const { settlement, owner, issuer, settler, settlementAddress, others } = ctx.fx
    const [alice, mallory] = [others[0]!, others[1]!]
    const { contract: phantom, address: phantomAddress } = await deployTestToken(owner, {
      kind: 'phantomPermit',
    })
    await addAsset(ctx.fx, { issuer, settler, token: phantomAddress })
    await mined(phantom.mint(alice.address, 1_000_000n))
    // Alice approved the contract once, for her own deposits.
    await mined(phantom.connect(alice).approve(settlementAddress, MaxUint256))
    const sent = settlement
      .connect(mallory)
      .depositWithPermit(
        phantomAddress,
        alice.address,
        1_000_000n,
        MaxUint256,
        27,
        `0x${'00'.repeat(32)}`,
        `0x${'00'.repeat(32)}`,
      )
    await expect(sent).rejects.toThrow()
    expect(await phantom.balanceOf(alice.address)).toBe(1_000_000n)
    expect((await settlement.prepaidBalance(phantomAddress, alice.address)).balance).toBe(0n)
  })

  test('the withdrawal delay is bounded and fixed at deployment', async () => {
    const { owner } = ctx.fx
    await expect(deploySettlement(owner, { withdrawalDelay: 3599 })).rejects.toThrow()
    await expect(deploySettlement(owner, { withdrawalDelay: 30 * DAY + 1 })).rejects.toThrow()
    const { contract } = await deploySettlement(owner, { withdrawalDelay: 3600 })
    expect(await contract.withdrawalDelay()).toBe(3600n)
    expect(await ctx.fx.settlement.withdrawalDelay()).toBe(BigInt(DAY))
  })

  test('the deployed contract fits the 24 KiB code size limit (EIP-170)', async () => {
    const code = await ctx.anvil.provider.getCode(ctx.fx.settlementAddress)
    const size = (code.length - 2) / 2
    console.log(`RMASettlement deployed code: ${size} bytes of 24,576`)
    expect(size).toBeLessThanOrEqual(24_576)
  })
})

describe('settlePrepaid', () => {
  const ctx = useSettlementFixture({ shares })

  async function setup() {
    const { settlement, tokenAddress, settlementAddress, meter, others } = ctx.fx
    const [alice, bob] = [others[0]!, others[1]!]
    const chainId = (await ctx.anvil.provider.getNetwork()).chainId
    const domain = rmaDomain(chainId, settlementAddress)
    await mined(settlement.connect(alice).depositFor(tokenAddress, alice.address, 1_000_000n))
    await mined(settlement.connect(bob).depositFor(tokenAddress, bob.address, 50_000n))
    const voucher = (user: Wallet, seq: number, cumulativeAmount: bigint, m = meter.address) =>
      signVoucher(user, domain, {
        assetId: ctx.fx.assetId,
        user: user.address,
        meter: m,
        seq: BigInt(seq),
        receiptHash: receiptHash(seq),
        cumulativeAmount,
      })
    return { alice, bob, domain, voucher }
  }

  test('debits exactly each increase, splits the sum like settle, credits rebates; the provider pays nothing', async () => {
    const { settlement, token, tokenAddress, assetId, settler } = ctx.fx
    const { alice, bob, voucher } = await setup()
    const settlerBefore = await token.balanceOf(settler.address)
    const first = [await voucher(alice, 3, 70_001n), await voucher(bob, 1, 9_999n)]
    const r1 = await mined(settlement.connect(settler).settlePrepaid(assetId, first))
    const rebate = (d: bigint) => (d * 1333n) / 10_000n
    expect(
      eventsOf(settlement, r1, 'VoucherSettled').map((e) => [e.args.user, e.args.debit]),
    ).toEqual([
      [alice.address, 70_001n],
      [bob.address, 9_999n],
    ])
    // Alice acks further receipts: only the increase is debited.
    const r2 = await mined(
      settlement.connect(settler).settlePrepaid(assetId, [await voucher(alice, 7, 100_000n)]),
    )
    expect(argsOf(eventsOf(settlement, r2, 'VoucherSettled')[0]).debit).toBe(29_999n)
    const alicePaid = 100_000n
    const bobPaid = 9_999n
    expect((await settlement.prepaidBalance(tokenAddress, alice.address)).balance).toBe(
      1_000_000n - alicePaid + rebate(70_001n) + rebate(29_999n),
    )
    expect((await settlement.prepaidBalance(tokenAddress, bob.address)).balance).toBe(
      50_000n - bobPaid + rebate(9_999n),
    )
    expect([
      ...(await settlement.settledVoucher(assetId, ctx.fx.meter.address, alice.address)),
    ]).toEqual([7n, 100_000n])
    // Each batch is split exactly like settle's revenue; the users' share's remainder after the
    // per-voucher floors goes to the issuer.
    const view = await settlement.getAsset(assetId)
    const s1 = splitRevenue(80_000n, shares)
    const s2 = splitRevenue(29_999n, shares)
    const credited1 = rebate(70_001n) + rebate(9_999n)
    const batch1 = argsOf(eventsOf(settlement, r1, 'PrepaidSettled')[0])
    expect(batch1).toMatchObject({
      epoch: 1n,
      vouchers: 2n,
      settledVouchers: 2n,
      debited: 80_000n,
      supportersAmount: s1.supporters,
      usersAmount: credited1,
      protocolAmount: s1.protocol,
      issuerAmount: s1.issuer + s1.users - credited1,
    })
    expect(view.epoch).toBe(2n)
    expect(view.protocolFunded).toBe(s1.protocol + s2.protocol)
    expect(view.supportersFunded).toBe(s1.supporters + s2.supporters)
    expect(view.issuerFunded + view.supportersFunded + view.protocolFunded).toBe(
      80_000n + 29_999n - credited1 - rebate(29_999n),
    )
    // The provider paid in nothing; the contract holds exactly what it owes.
    expect(await token.balanceOf(settler.address)).toBe(settlerBefore)
    const b = await books(settlement, token, [assetId])
    expect(b.balance).toBe(b.owed)
    expect(b.balance).toBe(1_050_000n)
  })

  test('a settler submitting a voucher twice (in one batch and again later) debits it once', async () => {
    const { settlement, tokenAddress, assetId, settler } = ctx.fx
    const { alice, voucher } = await setup()
    const v = await voucher(alice, 2, 10_000n)
    const r1 = await mined(settlement.connect(settler).settlePrepaid(assetId, [v, v]))
    expect(eventsOf(settlement, r1, 'VoucherSettled')).toHaveLength(1)
    expect(argsOf(eventsOf(settlement, r1, 'VoucherSkipped')[0])).toMatchObject({
      seq: 2n,
      reason: 1n, // NotNewer
    })
    const after = await settlement.prepaidBalance(tokenAddress, alice.address)
    const r2 = await mined(settlement.connect(settler).settlePrepaid(assetId, [v]))
    expect(eventsOf(settlement, r2, 'VoucherSettled')).toHaveLength(0)
    expect(argsOf(eventsOf(settlement, r2, 'PrepaidSettled')[0]).debited).toBe(0n)
    expect(await settlement.prepaidBalance(tokenAddress, alice.address)).toEqual(after)
  })

  test('a voucher whose increase exceeds the balance is skipped; after a top-up it settles in full', async () => {
    const { settlement, tokenAddress, assetId, settler, others } = ctx.fx
    const { bob, voucher } = await setup()
    const v = await voucher(bob, 4, 50_001n)
    const r1 = await mined(settlement.connect(settler).settlePrepaid(assetId, [v]))
    expect(argsOf(eventsOf(settlement, r1, 'VoucherSkipped')[0])).toMatchObject({
      user: bob.address,
      reason: 4n, // InsufficientBalance
    })
    expect((await settlement.prepaidBalance(tokenAddress, bob.address)).balance).toBe(50_000n)
    expect([
      ...(await settlement.settledVoucher(assetId, ctx.fx.meter.address, bob.address)),
    ]).toEqual([0n, 0n])
    await mined(settlement.connect(others[3]!).depositFor(tokenAddress, bob.address, 1n))
    const r2 = await mined(settlement.connect(settler).settlePrepaid(assetId, [v]))
    expect(argsOf(eventsOf(settlement, r2, 'VoucherSettled')[0]).debit).toBe(50_001n)
  })

  test('only the asset’s settler settles; a revoked meter’s vouchers are skipped', async () => {
    const { settlement, assetId, settler, issuer, meter } = ctx.fx
    const { alice, voucher } = await setup()
    const v = await voucher(alice, 1, 1_000n)
    await expectRevert(settlement.connect(alice).settlePrepaid(assetId, [v]), 'NotSettler')
    await mined(settlement.connect(issuer).setMeter(assetId, meter.address, false))
    const r = await mined(settlement.connect(settler).settlePrepaid(assetId, [v]))
    expect(argsOf(eventsOf(settlement, r, 'VoucherSkipped')[0]).reason).toBe(0n)
    expect(argsOf(eventsOf(settlement, r, 'PrepaidSettled')[0]).debited).toBe(0n)
  })

  test('a prepaid settle is an epoch: pending stake activates at it and earns from the next', async () => {
    const { settlement, assetId, settler, others } = ctx.fx
    const { alice, voucher } = await setup()
    const staker = others[4]!
    await mined(settlement.connect(staker).stake(assetId, 1_000_000n))
    // Epoch 1: the stake is pending, so the supporters' share is held.
    await mined(
      settlement.connect(settler).settlePrepaid(assetId, [await voucher(alice, 1, 10_000n)]),
    )
    expect(await settlement.claimableRewards(assetId, staker.address)).toBe(0n)
    const held = (await settlement.getAsset(assetId)).heldForSupporters
    expect(held).toBe(splitRevenue(10_000n, shares).supporters)
    // Epoch 2: the stake is active and earns this batch's share plus what was held.
    await mined(
      settlement.connect(settler).settlePrepaid(assetId, [await voucher(alice, 2, 30_000n)]),
    )
    expect(await settlement.claimableRewards(assetId, staker.address)).toBe(
      held + splitRevenue(20_000n, shares).supporters,
    )
  })

  test('skim cannot take prepaid balances', async () => {
    const { settlement, token, tokenAddress, owner, assetId, others } = ctx.fx
    await setup()
    await expectRevert(
      settlement.connect(owner).skim(tokenAddress, owner.address, [assetId]),
      'NothingToSkim',
    )
    await mined(token.connect(others[5]!).transfer(ctx.fx.settlementAddress, 7n))
    const r = await mined(settlement.connect(owner).skim(tokenAddress, owner.address, [assetId]))
    expect(argsOf(eventsOf(settlement, r, 'Skimmed')[0]).amount).toBe(7n)
  })

  test('the contract’s ack digest is the EIP-712 hash of the agreed ReceiptAck type', async () => {
    const { settlement, assetId, meter } = ctx.fx
    const { alice, domain } = await setup()
    const ack = {
      assetId,
      user: alice.address,
      meter: meter.address,
      seq: 12n,
      receiptHash: receiptHash(12),
      cumulativeAmount: 123_456_789n,
    }
    expect(
      await settlement.ackDigest(
        ack.assetId,
        ack.user,
        ack.meter,
        ack.seq,
        ack.receiptHash,
        ack.cumulativeAmount,
      ),
    ).toBe(ackDigestOf(domain, ack))
  })
})

describe('the voucher is @rma/core’s signed ack', () => {
  const ctx = useSettlementFixture({ shares })

  test('the contract’s ack digest equals hashAck of @rma/core, and an ack signed with signAck settles', async () => {
    const { settlement, tokenAddress, settlementAddress, assetId, settler, meter, others } = ctx.fx
    const alice = others[0]!
    const chainId = (await ctx.anvil.provider.getNetwork()).chainId
    const domain = createDomain({ chainId, verifyingContract: settlementAddress as Address })
    // Random-looking fields, including a cumulative amount above 2^128.
    const acks = [1, Number.MAX_SAFE_INTEGER].map((seq, i) => ({
      assetId: assetId as Hex,
      user: alice.address as Address,
      meter: meter.address as Address,
      seq,
      receiptHash: receiptHash(100 + i) as Hex,
      cumulativeAmount: i === 0 ? 2_750n : 2n ** 130n + 12_345n,
    }))
    for (const ack of acks)
      expect(
        await settlement.ackDigest(
          ack.assetId,
          ack.user,
          ack.meter,
          ack.seq,
          ack.receiptHash,
          ack.cumulativeAmount,
        ),
      ).toBe(hashAck(ack, domain))
    await mined(settlement.connect(alice).depositFor(tokenAddress, alice.address, 10_000n))
    const signed = await signAck({ ack: acks[0]!, signer: alice, domain })
    const r = await mined(settlement.connect(settler).settlePrepaid(assetId, [toVoucher(signed)]))
    expect(argsOf(eventsOf(settlement, r, 'VoucherSettled')[0])).toEqual({
      user: alice.address,
      debit: 2_750n,
    })
    // The same ack with another cumulative amount is no longer the user's.
    const altered = toVoucher({ ...signed, seq: 2, cumulativeAmount: 5_500n })
    const r2 = await mined(settlement.connect(settler).settlePrepaid(assetId, [altered]))
    expect(argsOf(eventsOf(settlement, r2, 'VoucherSkipped')[0]).reason).toBe(3n)
  })
})

describe('withdrawal', () => {
  const ctx = useSettlementFixture({ shares })

  test('a user who requests withdrawal cannot escape vouchers acked before it, and gets the rest after the delay', async () => {
    const { settlement, token, tokenAddress, settlementAddress, assetId, settler, meter, others } =
      ctx.fx
    const alice = others[0]!
    const domain = rmaDomain((await ctx.anvil.provider.getNetwork()).chainId, settlementAddress)
    await mined(settlement.connect(alice).depositFor(tokenAddress, alice.address, 100_000n))
    // Alice acks receipts worth 30,000, then asks for everything back at once.
    const acked = await signVoucher(alice, domain, {
      assetId,
      user: alice.address,
      meter: meter.address,
      seq: 9n,
      receiptHash: receiptHash(9),
      cumulativeAmount: 30_000n,
    })
    const requested = await mined(
      settlement.connect(alice).requestWithdrawal(tokenAddress, 100_000n),
    )
    const at = (await blockTime(ctx.anvil)) + BigInt(DAY)
    expect(argsOf(eventsOf(settlement, requested, 'WithdrawalRequested')[0])).toEqual({
      token: tokenAddress,
      user: alice.address,
      amount: 100_000n,
      withdrawableAt: at,
    })
    await expectRevert(
      settlement.connect(alice)['withdraw(address)'](tokenAddress),
      'WithdrawalLocked',
      [at],
    )
    await ctx.anvil.increaseTime(DAY - 120)
    await expectRevert(
      settlement.connect(alice)['withdraw(address)'](tokenAddress),
      'WithdrawalLocked',
    )
    // Within the delay the settler settles her voucher: it still debits her.
    const settled = await mined(settlement.connect(settler).settlePrepaid(assetId, [acked]))
    expect(argsOf(eventsOf(settlement, settled, 'VoucherSettled')[0]).debit).toBe(30_000n)
    const rebate = (30_000n * 1333n) / 10_000n
    await ctx.anvil.increaseTime(120)
    const before = await token.balanceOf(alice.address)
    const paid = await mined(settlement.connect(alice)['withdraw(address)'](tokenAddress))
    // She asked for 100,000 but gets what is left: her deposit less the debit plus her rebate.
    const rest = 100_000n - 30_000n + rebate
    expect(argsOf(eventsOf(settlement, paid, 'PrepaidWithdrawn')[0]).amount).toBe(rest)
    expect(await token.balanceOf(alice.address)).toBe(before + rest)
    expect([...(await settlement.prepaidBalance(tokenAddress, alice.address))]).toEqual([
      0n,
      0n,
      0n,
    ])
    const b = await books(settlement, token, [assetId])
    expect(b.balance).toBe(b.owed)
    expect(b.prepaid).toBe(0n)
    await expectRevert(
      settlement.connect(alice)['withdraw(address)'](tokenAddress),
      'NothingToWithdraw',
    )
  })

  test('a partial request leaves the rest; a request above the balance is refused; 0 cancels', async () => {
    const { settlement, token, tokenAddress, others } = ctx.fx
    const bob = others[1]!
    await mined(settlement.connect(bob).depositFor(tokenAddress, bob.address, 10_000n))
    await expectRevert(
      settlement.connect(bob).requestWithdrawal(tokenAddress, 10_001n),
      'InsufficientBalance',
      [10_000n],
    )
    await mined(settlement.connect(bob).requestWithdrawal(tokenAddress, 4_000n))
    await mined(settlement.connect(bob).requestWithdrawal(tokenAddress, 0n))
    await ctx.anvil.increaseTime(DAY)
    await expectRevert(
      settlement.connect(bob)['withdraw(address)'](tokenAddress),
      'NothingToWithdraw',
    )
    await mined(settlement.connect(bob).requestWithdrawal(tokenAddress, 4_000n))
    await ctx.anvil.increaseTime(DAY)
    const before = await token.balanceOf(bob.address)
    await mined(settlement.connect(bob)['withdraw(address)'](tokenAddress))
    expect(await token.balanceOf(bob.address)).toBe(before + 4_000n)
    expect((await settlement.prepaidBalance(tokenAddress, bob.address)).balance).toBe(6_000n)
  })
})
