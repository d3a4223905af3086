import { InvalidSharesError } from '@rma/core'
import { keccak256, toUtf8Bytes, ZeroAddress } from 'ethers'
import { describe, expect, test } from 'vitest'
import {
  argsOf,
  eventsOf,
  expectRevert,
  mined,
  settleArgs,
  useSettlementFixture,
} from '../test/helpers.js'
import { assetIdOf } from './assetIdOf.js'
import { registerAsset } from './registerAsset.js'

const ctx = useSettlementFixture()
const newSalt = keccak256(toUtf8Bytes('rma:another-asset'))
/** The id the fixture's owner (the default runner) gets for `newSalt`. */
const ownersAssetId = () => assetIdOf(ctx.fx.owner.address, newSalt)

describe('registerAsset', () => {
  test('registers an asset whose issuer is the sender, with meters, settler and events', async () => {
    const { settlement, tokenAddress, others } = ctx.fx
    const [issuer, settler, meterA, meterB] = others as [
      (typeof others)[0],
      (typeof others)[0],
      (typeof others)[0],
      (typeof others)[0],
    ]
    const {
      receipt,
      issuer: registeredBy,
      assetId: newAssetId,
    } = await registerAsset(settlement.connect(issuer), {
      salt: newSalt,
      token: tokenAddress,
      settler: settler.address,
      issuerBps: 4321,
      supportersBps: 2345,
      usersBps: 1999,
      protocolBps: 1335,
      unbondingDelay: 86_400,
      meters: [meterA.address, meterB.address],
    })
    expect(registeredBy).toBe(issuer.address)
    expect(newAssetId).toBe(assetIdOf(issuer.address, newSalt))
    expect(await settlement.assetIdOf(issuer.address, newSalt)).toBe(newAssetId)
    expect(eventsOf(settlement, receipt).map((e) => e.name)).toEqual([
      'AssetRegistered',
      'SettlerSet',
      'MeterSet',
      'MeterSet',
    ])
    expect(argsOf(eventsOf(settlement, receipt, 'AssetRegistered')[0])).toEqual({
      assetId: newAssetId,
      issuer: issuer.address,
      salt: newSalt,
      token: tokenAddress,
      settler: settler.address,
      issuerBps: 4321n,
      supportersBps: 2345n,
      usersBps: 1999n,
      protocolBps: 1335n,
      unbondingDelay: 86_400n,
    })
    expect(argsOf(eventsOf(settlement, receipt, 'MeterSet')[1])).toEqual({
      assetId: newAssetId,
      meter: meterB.address,
      allowed: true,
    })
    const asset = await settlement.getAsset(newAssetId)
    expect(asset.issuer).toBe(issuer.address)
    expect(asset.token).toBe(tokenAddress)
    expect(asset.settler).toBe(settler.address)
    expect([asset.issuerBps, asset.supportersBps, asset.usersBps, asset.protocolBps]).toEqual([
      4321n,
      2345n,
      1999n,
      1335n,
    ])
    expect(asset.unbondingDelay).toBe(86_400n)
    expect(asset.epoch).toBe(0n)
    expect(asset.pendingIssuer).toBe(ZeroAddress)
    expect(await settlement.isMeter(newAssetId, meterA.address)).toBe(true)
    expect(await settlement.isMeter(newAssetId, meterB.address)).toBe(true)
    expect(await settlement.isMeter(newAssetId, settler.address)).toBe(false)
  })

  test('protocolBps defaults to 0 and meters to none', async () => {
    const { settlement, tokenAddress, others } = ctx.fx
    const { assetId } = await registerAsset(settlement.connect(others[0]!), {
      salt: newSalt,
      token: tokenAddress,
      settler: others[1]!.address,
      issuerBps: 7000,
      supportersBps: 2000,
      usersBps: 1000,
      unbondingDelay: 86_400,
    })
    const asset = await settlement.getAsset(assetId)
    expect(asset.protocolBps).toBe(0n)
    expect(await settlement.isMeter(assetId, others[1]!.address)).toBe(false)
  })

  test('reverts InvalidShares unless the four shares sum to 10,000 bps', async () => {
    const { settlement, tokenAddress, settler } = ctx.fx
    const register = (bps: [number, number, number, number]) =>
      settlement.registerAsset(newSalt, tokenAddress, settler.address, ...bps, 86_400, [])
    await expectRevert(register([5000, 3000, 1500, 499]), 'InvalidShares')
    await expectRevert(register([5000, 3000, 1500, 501]), 'InvalidShares')
    await expectRevert(register([10_000, 10_000, 0, 0]), 'InvalidShares')
    await mined(register([0, 0, 10_000, 0]))
  })

  test('the helper checks the shares before sending anything', async () => {
    const { settlement, tokenAddress, settler, issuer, owner } = ctx.fx
    const nonce = await owner.provider!.getTransactionCount(issuer.address)
    await expect(
      registerAsset(settlement.connect(issuer), {
        salt: newSalt,
        token: tokenAddress,
        settler: settler.address,
        issuerBps: 5000,
        supportersBps: 5000,
        usersBps: 1,
        unbondingDelay: 86_400,
      }),
    ).rejects.toThrow(InvalidSharesError)
    expect(await owner.provider!.getTransactionCount(issuer.address)).toBe(nonce)
  })

  test('reverts AssetExists when the issuer reuses a salt', async () => {
    const { settlement, tokenAddress, settler, salt, issuer } = ctx.fx
    await expectRevert(
      settlement
        .connect(issuer)
        .registerAsset(salt, tokenAddress, settler.address, 10_000, 0, 0, 0, 86_400, []),
      'AssetExists',
    )
  })

  test('L3: nobody can squat an issuer’s asset id or authorise meters on it', async () => {
    const { settlement, tokenAddress, issuer, others } = ctx.fx
    const [squatter, victim] = [others[0]!, others[1]!]
    const victimsId = assetIdOf(victim.address, newSalt)
    // The squatter front-runs with the victim's salt (and the victim's meter key): it gets an
    // id of its own, and the victim's id stays free.
    const { assetId: squatted } = await registerAsset(settlement.connect(squatter), {
      salt: newSalt,
      token: tokenAddress,
      settler: squatter.address,
      issuerBps: 10_000,
      supportersBps: 0,
      usersBps: 0,
      unbondingDelay: 86_400,
      meters: [issuer.address],
    })
    expect(squatted).not.toBe(victimsId)
    expect((await settlement.getAsset(victimsId)).issuer).toBe(ZeroAddress)
    expect(await settlement.isMeter(victimsId, issuer.address)).toBe(false)
    const { assetId } = await registerAsset(settlement.connect(victim), {
      salt: newSalt,
      token: tokenAddress,
      settler: victim.address,
      issuerBps: 10_000,
      supportersBps: 0,
      usersBps: 0,
      unbondingDelay: 86_400,
    })
    expect(assetId).toBe(victimsId)
    expect((await settlement.getAsset(victimsId)).issuer).toBe(victim.address)
    expect(await settlement.isMeter(victimsId, issuer.address)).toBe(false)
  })

  test('reverts ZeroAddress for a zero token, settler or meter', async () => {
    const { settlement, tokenAddress, settler } = ctx.fx
    await expectRevert(
      settlement.registerAsset(newSalt, ZeroAddress, settler.address, 10_000, 0, 0, 0, 86_400, []),
      'ZeroAddress',
    )
    await expectRevert(
      settlement.registerAsset(newSalt, tokenAddress, ZeroAddress, 10_000, 0, 0, 0, 86_400, []),
      'ZeroAddress',
    )
    await expectRevert(
      settlement.registerAsset(newSalt, tokenAddress, settler.address, 10_000, 0, 0, 0, 86_400, [
        ZeroAddress,
      ]),
      'ZeroAddress',
    )
  })

  test('H2: reverts InvalidUnbondingDelay below 1 day (0 included) and above 365 days', async () => {
    const { settlement, tokenAddress, settler } = ctx.fx
    const year = 365 * 24 * 3600
    for (const delay of [0, 1, 86_399])
      await expectRevert(
        settlement.registerAsset(
          newSalt,
          tokenAddress,
          settler.address,
          10_000,
          0,
          0,
          0,
          delay,
          [],
        ),
        'InvalidUnbondingDelay',
      )
    expect(await settlement.MIN_UNBONDING_DELAY()).toBe(86_400n)
    await expectRevert(
      settlement.registerAsset(
        newSalt,
        tokenAddress,
        settler.address,
        10_000,
        0,
        0,
        0,
        year + 1,
        [],
      ),
      'InvalidUnbondingDelay',
    )
    await mined(
      settlement.registerAsset(newSalt, tokenAddress, settler.address, 10_000, 0, 0, 0, year, []),
    )
  })
})

describe('setMeter', () => {
  test('the issuer authorises and revokes meters', async () => {
    const { settlement, assetId, issuer, meter, others } = ctx.fx
    expect(await settlement.isMeter(assetId, meter.address)).toBe(true)
    const revoked = await mined(settlement.connect(issuer).setMeter(assetId, meter.address, false))
    expect(argsOf(eventsOf(settlement, revoked, 'MeterSet')[0])).toEqual({
      assetId,
      meter: meter.address,
      allowed: false,
    })
    expect(await settlement.isMeter(assetId, meter.address)).toBe(false)
    await mined(settlement.connect(issuer).setMeter(assetId, others[0]!.address, true))
    expect(await settlement.isMeter(assetId, others[0]!.address)).toBe(true)
  })

  test('reverts NotIssuer for anyone else, and for an unknown asset', async () => {
    const { settlement, assetId, settler, owner, meter } = ctx.fx
    for (const sender of [settler, owner, meter])
      await expectRevert(
        settlement.connect(sender).setMeter(assetId, sender.address, true),
        'NotIssuer',
      )
    await expectRevert(settlement.setMeter(ownersAssetId(), meter.address, true), 'NotIssuer')
  })
})

describe('setSettler', () => {
  test('the issuer replaces the settler', async () => {
    const { settlement, assetId, issuer, others } = ctx.fx
    const receipt = await mined(settlement.connect(issuer).setSettler(assetId, others[0]!.address))
    expect(argsOf(eventsOf(settlement, receipt, 'SettlerSet')[0])).toEqual({
      assetId,
      previousSettler: ctx.fx.settler.address,
      settler: others[0]!.address,
    })
    expect((await settlement.getAsset(assetId)).settler).toBe(others[0]!.address)
  })

  test('reverts NotIssuer for anyone else and ZeroAddress for the zero address', async () => {
    const { settlement, assetId, issuer, settler, owner } = ctx.fx
    for (const sender of [settler, owner])
      await expectRevert(
        settlement.connect(sender).setSettler(assetId, sender.address),
        'NotIssuer',
      )
    await expectRevert(settlement.connect(issuer).setSettler(assetId, ZeroAddress), 'ZeroAddress')
  })
})

describe('L4: transferIssuer and acceptIssuer', () => {
  test('the role and what it is owed move in two steps, with events', async () => {
    const { settlement, assetId, issuer, settler, token, others } = ctx.fx
    const [next, stranger] = [others[0]!, others[1]!]
    await mined(settlement.connect(settler).settle(...settleArgs(assetId, 1, 10_000n)))
    const owed = (await settlement.getAsset(assetId)).issuerOwed
    expect(owed).toBeGreaterThan(0n)
    await expectRevert(
      settlement.connect(stranger).transferIssuer(assetId, stranger.address),
      'NotIssuer',
    )
    const started = await mined(settlement.connect(issuer).transferIssuer(assetId, next.address))
    expect(argsOf(eventsOf(settlement, started, 'IssuerTransferStarted')[0])).toEqual({
      assetId,
      issuer: issuer.address,
      pendingIssuer: next.address,
    })
    expect((await settlement.getAsset(assetId)).pendingIssuer).toBe(next.address)
    // Until accepted, the old issuer keeps the role.
    await expectRevert(settlement.connect(stranger).acceptIssuer(assetId), 'NotPendingIssuer')
    await expectRevert(settlement.connect(next).setMeter(assetId, next.address, true), 'NotIssuer')
    const accepted = await mined(settlement.connect(next).acceptIssuer(assetId))
    expect(argsOf(eventsOf(settlement, accepted, 'IssuerTransferred')[0])).toEqual({
      assetId,
      previousIssuer: issuer.address,
      issuer: next.address,
    })
    const asset = await settlement.getAsset(assetId)
    expect([asset.issuer, asset.pendingIssuer]).toEqual([next.address, ZeroAddress])
    await expectRevert(settlement.connect(issuer).setSettler(assetId, issuer.address), 'NotIssuer')
    await expectRevert(settlement.connect(next).acceptIssuer(assetId), 'NotPendingIssuer')
    // What the role was owed goes to the new issuer (e.g. the old key is blacklisted).
    const before = await token.balanceOf(next.address)
    await mined(settlement.claimIssuer(assetId))
    expect(await token.balanceOf(next.address)).toBe(before + owed)
  })

  test('an offer can be withdrawn (offer the zero address)', async () => {
    const { settlement, assetId, issuer, others } = ctx.fx
    await mined(settlement.connect(issuer).transferIssuer(assetId, others[0]!.address))
    await mined(settlement.connect(issuer).transferIssuer(assetId, ZeroAddress))
    await expectRevert(settlement.connect(others[0]!).acceptIssuer(assetId), 'NotPendingIssuer')
    await expectRevert(settlement.acceptIssuer(assetId), 'NotPendingIssuer')
    expect((await settlement.getAsset(assetId)).issuer).toBe(issuer.address)
  })
})
