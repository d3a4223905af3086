import {
  type Anvil,
  deploySettlementFixture,
  type SettlementFixture,
  startAnvil,
} from '@rma/contracts/testing'
import type { Address, Hex } from '@rma/core'
import { type RmaMeterOptions, rmaMeter } from '@rma/express'
import { prices } from '@rma/express/testing'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

let anvil: Anvil
let fx: SettlementFixture

beforeAll(async () => {
  anvil = await startAnvil()
  fx = await deploySettlementFixture(anvil)
})
afterAll(() => anvil?.stop())

function meterFor(overrides: Partial<RmaMeterOptions>) {
  return rmaMeter({
    assetId: fx.assetId as Hex,
    chainId: anvil.chainId,
    settlementContract: fx.settlementAddress as Address,
    prices,
    store: createMemoryStore(),
    signer: fx.meter.privateKey,
    rpcUrl: anvil.url,
    ...overrides,
  })
}

describe('startup self-checks against the chain (anvil)', () => {
  test('the authorised meter on the right chain and contract is ready', async () => {
    await expect(meterFor({}).ready).resolves.toBeUndefined()
  })

  test('a wrong chain id names both ids and what to set', async () => {
    await expect(meterFor({ chainId: 8453 }).ready).rejects.toMatchObject({
      code: 'rma_meter_misconfigured',
      message: `The RPC is on chain ${anvil.chainId} but the meter is configured for chainId 8453.\n\nDetails: Set chainId: ${anvil.chainId}, or point rpcUrl at chain 8453.`,
    })
  })

  test('a settlement contract address without code says so', async () => {
    const empty = Wallet.createRandom().address as Address
    await expect(meterFor({ settlementContract: empty }).ready).rejects.toMatchObject({
      code: 'rma_meter_misconfigured',
      shortMessage: `No contract at settlementContract ${empty} on chain ${anvil.chainId}.`,
    })
  })

  test('a contract that is not the settlement contract says so', async () => {
    await expect(
      meterFor({ settlementContract: fx.tokenAddress as Address }).ready,
    ).rejects.toMatchObject({
      code: 'rma_meter_misconfigured',
      shortMessage: `The contract at ${fx.tokenAddress} does not answer isMeter(assetId, meter).`,
    })
  })

  test('a meter key the asset has not authorised names the key and the asset', async () => {
    const stranger = Wallet.createRandom()
    await expect(meterFor({ signer: stranger.privateKey }).ready).rejects.toMatchObject({
      code: 'rma_meter_misconfigured',
      shortMessage: `The meter key ${stranger.address} is not an authorised meter of asset ${fx.assetId.toLowerCase()}.`,
    })
  })

  test('the settler key is no meter key either', async () => {
    await expect(meterFor({ signer: fx.settler.privateKey }).ready).rejects.toMatchObject({
      code: 'rma_meter_misconfigured',
    })
  })
})
