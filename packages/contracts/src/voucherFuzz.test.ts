import {
  type BaseWallet,
  keccak256,
  type TypedDataDomain,
  toBeHex,
  Wallet,
  ZeroAddress,
} from 'ethers'
import fc from 'fast-check'
import { expect, test } from 'vitest'
import { addAsset, eventsOf, mined, useSettlementFixture } from '../test/helpers.js'
import { type AckFields, rmaDomain, signVoucher } from '../test/vouchers.js'
import { deploySettlement } from './deploySettlement.js'
import type { Voucher } from './types.js'

const shares = { issuerBps: 5999, supportersBps: 2501, usersBps: 1333, protocolBps: 167 }
const USERS = 3
const DEPOSIT = 10n ** 9n
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const HIGH_BIT = 1n << 255n

// The reasons of `VoucherSkipped`, in the contract's enum order.
const Reason = {
  MeterNotAuthorised: 0n,
  NotNewer: 1n,
  OutOfRange: 2n,
  BadSignature: 3n,
  InsufficientBalance: 4n,
} as const

const attackKinds = [
  'wrongSigner',
  'alteredSeq',
  'alteredCumulative',
  'alteredReceiptHash',
  'alteredMeter',
  'alteredUser',
  'alteredR',
  'alteredVs',
  'malleated',
  'otherAsset',
  'otherChainId',
  'otherContract',
  'lowered',
  'equal',
  'replay',
  'outOfOrder',
  'unauthorisedMeter',
  'zeroUser',
  'garbage',
  'aboveBalance',
  'aboveRange',
] as const
type AttackKind = (typeof attackKinds)[number]

const attack = fc.record({
  kind: fc.constantFrom(...attackKinds),
  user: fc.integer({ min: 0, max: USERS - 1 }),
  other: fc.integer({ min: 1, max: USERS - 1 }),
  seqStep: fc.bigInt(1n, 1_000n),
  amountStep: fc.bigInt(1n, 1_000_000n),
  noise: fc.bigInt(1n, (1n << 256n) - 1n),
})
type Attack = typeof attack extends fc.Arbitrary<infer T> ? T : never

// owner, issuer, settler, meter, 3 users, the second asset's issuer
const ctx = useSettlementFixture({ shares }, 8)

test('1,000+ random forged, altered and replayed vouchers: none accepted, no wei moves', async () => {
  const { settlement, token, tokenAddress, settlementAddress, assetId, settler, meter, issuer } =
    ctx.fx
  const users = ctx.fx.others.slice(0, USERS) as Wallet[]
  const chainId = (await ctx.anvil.provider.getNetwork()).chainId
  const domain = rmaDomain(chainId, settlementAddress)
  // A second authorised meter, an unauthorised one, a second asset the meter also serves, the
  // same contract on another chain id, and another deployment on this chain.
  const meter2 = Wallet.createRandom().address
  const stranger = Wallet.createRandom()
  await mined(settlement.connect(issuer).setMeter(assetId, meter2, true))
  const otherAsset = await addAsset(ctx.fx, { issuer: ctx.fx.others[USERS]!, settler })
  await mined(settlement.connect(ctx.fx.others[USERS]!).setMeter(otherAsset, meter.address, true))
  const { address: otherContract } = await deploySettlement(ctx.fx.owner)
  for (const user of users)
    await mined(settlement.connect(user).depositFor(tokenAddress, user.address, DEPOSIT))
  // Each user's chain with the meter has a settled voucher: seq 5 for 1,000.
  const settledOnce = await Promise.all(
    users.map((u) => sign(u, domain, ack(u.address, meter.address, 5n, 1_000n))),
  )
  await mined(settlement.connect(settler).settlePrepaid(assetId, settledOnce))
  const baseline = await ctx.anvil.snapshot()

  let attacks = 0
  let honestSettled = 0
  const counts = new Map<AttackKind, number>()

  await fc.assert(
    fc.asyncProperty(
      fc.array(attack, { minLength: 40, maxLength: 60 }),
      fc.option(fc.integer({ min: 0, max: USERS - 1 }), { nil: undefined }),
      async (batch, honestUser) => {
        const start = await ctx.anvil.snapshot()
        try {
          const before = await snapshotState()
          const built = await Promise.all(batch.map((a) => forge(a, before)))
          // Optionally one honest voucher at the end: the contract is not rejecting everything.
          const honest =
            honestUser === undefined
              ? undefined
              : await sign(
                  users[honestUser]!,
                  domain,
                  ack(
                    users[honestUser]!.address,
                    meter.address,
                    before.chains[honestUser]!.seq + 1n,
                    before.chains[honestUser]!.cumulative + 777n,
                  ),
                )
          const vouchers = [...built.map((b) => b.voucher), ...(honest ? [honest] : [])]
          const receipt = await mined(settlement.connect(settler).settlePrepaid(assetId, vouchers))
          const skipped = eventsOf(settlement, receipt, 'VoucherSkipped')
          const settledEvents = eventsOf(settlement, receipt, 'VoucherSettled')
          // Every attack is skipped, in order, for the reason its forgery breaks.
          expect(skipped.map((e) => e.args.reason)).toEqual(built.map((b) => b.reason))
          expect(settledEvents.map((e) => [e.args.user, e.args.debit])).toEqual(
            honest ? [[honest.user, 777n]] : [],
          )
          const after = await snapshotState()
          const rebate = (777n * 1333n) / 10_000n
          users.forEach((_, i) => {
            const moved = honestUser === i ? 777n - rebate : 0n
            expect(after.balances[i]).toBe(before.balances[i]! - moved)
            expect(after.chains[i]).toEqual(
              honestUser === i
                ? {
                    seq: before.chains[i]!.seq + 1n,
                    cumulative: before.chains[i]!.cumulative + 777n,
                  }
                : before.chains[i],
            )
            expect(after.wallets[i]).toBe(before.wallets[i])
          })
          expect(after.others).toEqual(before.others)
          expect(after.contractBalance).toBe(before.contractBalance)
          expect(after.owed).toBe(after.contractBalance)
          attacks += built.length
          if (honest) honestSettled++
          for (const a of batch) counts.set(a.kind, (counts.get(a.kind) ?? 0) + 1)
        } finally {
          await ctx.anvil.revert(start)
        }
      },
    ),
    { numRuns: Number(process.env.RMA_VOUCHER_FUZZ_RUNS ?? 25) },
  )
  await ctx.anvil.revert(baseline)
  console.log(
    `voucher fuzz: ${attacks} forged/altered/replayed vouchers, 0 accepted; ${honestSettled} honest ones settled`,
    Object.fromEntries(counts),
  )
  expect(attacks).toBeGreaterThanOrEqual(Number(process.env.RMA_VOUCHER_FUZZ_RUNS ?? 25) * 40)
  expect(counts.size).toBe(attackKinds.length)

  function ack(
    user: string,
    m: string,
    seq: bigint,
    cumulativeAmount: bigint,
    id = assetId,
  ): AckFields {
    return {
      assetId: id,
      user,
      meter: m,
      seq,
      receiptHash: keccak256(toBeHex(seq, 32)),
      cumulativeAmount,
    }
  }

  async function sign(signer: BaseWallet, d: TypedDataDomain, fields: AckFields): Promise<Voucher> {
    const {
      meter: m,
      user,
      seq,
      receiptHash,
      cumulativeAmount,
      r,
      vs,
    } = await signVoucher(signer, d, fields)
    return { meter: m, user, seq, receiptHash, cumulativeAmount, r, vs }
  }

  type State = Awaited<ReturnType<typeof snapshotState>>
  async function snapshotState() {
    const [balances, chains, wallets, others, contractBalance, prepaid, ledgerA, ledgerB] =
      await Promise.all([
        Promise.all(
          users.map(
            async (u) => (await settlement.prepaidBalance(tokenAddress, u.address)).balance,
          ),
        ),
        Promise.all(
          users.map(async (u) => {
            const [seq, cumulative] = await settlement.settledVoucher(
              assetId,
              meter.address,
              u.address,
            )
            return { seq, cumulative }
          }),
        ),
        Promise.all(users.map((u) => token.balanceOf(u.address))),
        Promise.all(
          users.flatMap((u) => [
            settlement.settledVoucher(assetId, meter2, u.address).then((v) => [...v]),
            settlement.settledVoucher(otherAsset, meter.address, u.address).then((v) => [...v]),
          ]),
        ),
        token.balanceOf(settlementAddress),
        settlement.prepaidTotalOf(tokenAddress),
        settlement.ledgerOf(assetId),
        settlement.ledgerOf(otherAsset),
      ])
    return { balances, chains, wallets, others, contractBalance, owed: prepaid + ledgerA + ledgerB }
  }

  /** One attack against the current state, and the reason the contract must give. */
  async function forge(a: Attack, state: State): Promise<{ voucher: Voucher; reason: bigint }> {
    const user = users[a.user]!
    const other = users[(a.user + a.other) % USERS]!
    const chain = state.chains[a.user]!
    // Fields of a voucher that would be accepted if its user had signed it as is.
    const seq = chain.seq + a.seqStep
    const cumulative = chain.cumulative + a.amountStep
    const fresh = ack(user.address, meter.address, seq, cumulative)
    const good = () => sign(user, domain, fresh)
    const bad = (voucher: Voucher) => ({ voucher, reason: Reason.BadSignature })
    switch (a.kind) {
      case 'wrongSigner':
        return bad(await sign(a.noise % 2n === 0n ? stranger : other, domain, fresh))
      case 'alteredSeq':
        return bad({ ...(await good()), seq: seq + a.seqStep })
      case 'alteredCumulative': {
        // Raised, or lowered while still above the settled amount.
        const lowered = chain.cumulative + 1n
        const altered = a.noise % 2n === 0n || lowered === cumulative ? cumulative + 1n : lowered
        return bad({ ...(await good()), cumulativeAmount: altered })
      }
      case 'alteredReceiptHash':
        return bad({ ...(await good()), receiptHash: toBeHex(a.noise, 32) })
      case 'alteredMeter':
        return bad({ ...(await good()), meter: meter2 })
      case 'alteredUser': {
        // Moved to another user's chain, above that chain's settled voucher too.
        const o = state.chains[(a.user + a.other) % USERS]!
        const v = await sign(
          user,
          domain,
          ack(user.address, meter.address, seq + o.seq, cumulative + o.cumulative),
        )
        return bad({ ...v, user: other.address })
      }
      case 'alteredR':
        return bad({ ...(await good()), r: toBeHex(a.noise, 32) })
      case 'alteredVs': {
        const v = await good()
        return bad({
          ...v,
          vs: toBeHex(BigInt(v.vs as string) ^ (a.noise === 0n ? 1n : a.noise), 32),
        })
      }
      case 'malleated': {
        // The twin signature (n - s, the other parity), squeezed into the compact form.
        const v = await good()
        const packed = BigInt(v.vs as string)
        const s = SECP256K1_N - (packed & (HIGH_BIT - 1n))
        const parity = (packed >> 255n) ^ 1n
        return bad({ ...v, vs: toBeHex((parity << 255n) | (s & (HIGH_BIT - 1n)), 32) })
      }
      case 'otherAsset':
        return bad(
          await sign(user, domain, ack(user.address, meter.address, seq, cumulative, otherAsset)),
        )
      case 'otherChainId':
        return bad(
          await sign(user, rmaDomain(chainId + 1n + (a.noise % 1000n), settlementAddress), fresh),
        )
      case 'otherContract':
        return bad(await sign(user, rmaDomain(chainId, otherContract), fresh))
      case 'lowered':
        return {
          voucher: await sign(
            user,
            domain,
            ack(
              user.address,
              meter.address,
              seq,
              chain.cumulative - 1n - (a.amountStep % chain.cumulative),
            ),
          ),
          reason: Reason.NotNewer,
        }
      case 'equal':
        return {
          voucher: await sign(
            user,
            domain,
            ack(user.address, meter.address, seq, chain.cumulative),
          ),
          reason: Reason.NotNewer,
        }
      case 'replay':
        return { voucher: settledOnce[a.user]!, reason: Reason.NotNewer }
      case 'outOfOrder':
        return {
          voucher: await sign(
            user,
            domain,
            ack(user.address, meter.address, chain.seq - (a.seqStep % chain.seq), cumulative),
          ),
          reason: Reason.NotNewer,
        }
      case 'unauthorisedMeter':
        return {
          voucher: await sign(user, domain, ack(user.address, stranger.address, seq, cumulative)),
          reason: Reason.MeterNotAuthorised,
        }
      case 'zeroUser':
        return bad({
          ...(await good()),
          user: ZeroAddress,
          r: toBeHex(a.noise, 32),
          vs: toBeHex(a.noise >> 1n, 32),
        })
      case 'garbage':
        return bad({ ...fresh, r: toBeHex(a.noise, 32), vs: toBeHex(a.noise >> 3n, 32) })
      case 'aboveBalance':
        return {
          voucher: await sign(
            user,
            domain,
            ack(
              user.address,
              meter.address,
              seq,
              chain.cumulative + state.balances[a.user]! + a.amountStep,
            ),
          ),
          reason: Reason.InsufficientBalance,
        }
      case 'aboveRange':
        return {
          voucher: await sign(
            user,
            domain,
            ack(user.address, meter.address, seq, (1n << 192n) + a.amountStep),
          ),
          reason: Reason.OutOfRange,
        }
    }
  }
}, 600_000)
