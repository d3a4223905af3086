import { InvalidSharesError } from '@rma/core'
import { keccak256, toUtf8Bytes, ZeroAddress } from 'ethers'
import { describe, expect, test } from 'vitest'
import { argsOf, eventsOf, expectRevert, mined, useSettlementFixture } from '../test/helpers.js'
import { registerAsset } from './registerAsset.js'

const ctx = useSettlementFixture()
const newAssetId = keccak256(toUtf8Bytes('rma:another-asset'))

describe('registerAsset', () => {
  test('registers an asset whose issuer is the sender, with meters, settler and events', async () => {
    const { settlement, tokenAddress, others } = ctx.fx
    const [issuer, settler, meterA, meterB] = others as [
      (typeof others)[0],
      (typeof others)[0],
      (typeof others)[0],
      (typeof others)[0],
    ]
    const { receipt, issuer: registeredBy } = await registerAsset(settlement.connect(issuer), {
      assetId: newAssetId,
      token: tokenAddress,
      settler: settler.address,
      issuerBps: 4321,
      supportersBps: 2345,
      usersBps: 1999,
      protocolBps: 1335,
      unbondingDelay: 3600,
      meters: [meterA.address, meterB.address],
    })
    expect(registeredBy).toBe(issuer.address)
    expect(eventsOf(settlement, receipt).map((e) => e.name)).toEqual([
      'AssetRegistered',
      'SettlerSet',
      'MeterSet',
      'MeterSet',
    ])
    expect(argsOf(eventsOf(settlement, receipt, 'AssetRegistered')[0])).toEqual({
      assetId: newAssetId,
      issuer: issuer.address,
      token: tokenAddress,
      settler: settler.address,
      issuerBps: 4321n,
      supportersBps: 2345n,
      usersBps: 1999n,
      protocolBps: 1335n,
      unbondingDelay: 3600n,
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
    expect(asset.unbondingDelay).toBe(3600n)
    expect(asset.epoch).toBe(0n)
    expect(asset.rebateRoot).toBe(`0x${'00'.repeat(32)}`)
    expect(await settlement.isMeter(newAssetId, meterA.address)).toBe(true)
    expect(await settlement.isMeter(newAssetId, meterB.address)).toBe(true)
    expect(await settlement.isMeter(newAssetId, settler.address)).toBe(false)
  })

  test('protocolBps defaults to 0 and meters to none', async () => {
    const { settlement, tokenAddress, others } = ctx.fx
    await registerAsset(settlement.connect(others[0]!), {
      assetId: newAssetId,
      token: tokenAddress,
      settler: others[1]!.address,
      issuerBps: 7000,
      supportersBps: 2000,
      usersBps: 1000,
      unbondingDelay: 0,
    })
    const asset = await settlement.getAsset(newAssetId)
    expect(asset.protocolBps).toBe(0n)
    expect(asset.unbondingDelay).toBe(0n)
  })

  test('reverts InvalidShares unless the four shares sum to 10,000 bps', async () => {
    const { settlement, tokenAddress, settler } = ctx.fx
    const register = (bps: [number, number, number, number]) =>
      settlement.registerAsset(newAssetId, tokenAddress, settler.address, ...bps, 3600, [])
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
        assetId: newAssetId,
        token: tokenAddress,
        settler: settler.address,
        issuerBps: 5000,
        supportersBps: 5000,
        usersBps: 1,
        unbondingDelay: 0,
      }),
    ).rejects.toThrow(InvalidSharesError)
    expect(await owner.provider!.getTransactionCount(issuer.address)).toBe(nonce)
  })

  test('reverts AssetExists for an asset id already registered, by anyone', async () => {
    const { settlement, tokenAddress, settler, assetId, issuer, others } = ctx.fx
    for (const sender of [issuer, others[0]!])
      await expectRevert(
        settlement
          .connect(sender)
          .registerAsset(assetId, tokenAddress, settler.address, 10_000, 0, 0, 0, 0, []),
        'AssetExists',
      )
  })

  test('reverts ZeroAddress for a zero token, settler or meter', async () => {
    const { settlement, tokenAddress, settler } = ctx.fx
    await expectRevert(
      settlement.registerAsset(newAssetId, ZeroAddress, settler.address, 10_000, 0, 0, 0, 0, []),
      'ZeroAddress',
    )
    await expectRevert(
      settlement.registerAsset(newAssetId, tokenAddress, ZeroAddress, 10_000, 0, 0, 0, 0, []),
      'ZeroAddress',
    )
    await expectRevert(
      settlement.registerAsset(newAssetId, tokenAddress, settler.address, 10_000, 0, 0, 0, 0, [
        ZeroAddress,
      ]),
      'ZeroAddress',
    )
  })

  test('reverts InvalidUnbondingDelay above 365 days', async () => {
    const { settlement, tokenAddress, settler } = ctx.fx
    const year = 365 * 24 * 3600
    await expectRevert(
      settlement.registerAsset(
        newAssetId,
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
      settlement.registerAsset(
        newAssetId,
        tokenAddress,
        settler.address,
        10_000,
        0,
        0,
        0,
        year,
        [],
      ),
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
    await expectRevert(settlement.setMeter(newAssetId, meter.address, true), 'NotIssuer')
  })
})

describe('setSettler', () => {
  test('the issuer replaces the settler', async () => {
    const { settlement, assetId, issuer, others } = ctx.fx
    const receipt = await mined(settlement.connect(issuer).setSettler(assetId, others[0]!.address))
    expect(argsOf(eventsOf(settlement, receipt, 'SettlerSet')[0])).toEqual({
      assetId,
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
