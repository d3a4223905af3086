import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { mined } from '../test/helpers.js'
import { deploySettlement } from './deploySettlement.js'
import { deployTestToken } from './deployTestToken.js'
import { getSettlementContract } from './getSettlementContract.js'
import { getTestTokenContract } from './getTestTokenContract.js'
import { type Anvil, startAnvil } from './testing/index.js'

let anvil: Anvil
beforeAll(async () => {
  anvil = await startAnvil()
}, 30_000)
afterAll(() => anvil?.stop())

describe('deploySettlement', () => {
  test('deploys with the deployer as owner by default', async () => {
    const [deployer] = anvil.accounts
    const { address, contract, receipt } = await deploySettlement(deployer!)
    expect(receipt.status).toBe(1)
    expect(receipt.contractAddress).toBe(address)
    expect(await contract.owner()).toBe(deployer!.address)
    expect(await contract.BPS()).toBe(10_000n)
    expect(await contract.REWARD_SCALE()).toBe(10n ** 36n)
    expect(await contract.MIN_UNBONDING_DELAY()).toBe(24n * 3600n)
    expect(await contract.MAX_UNBONDING_DELAY()).toBe(365n * 24n * 3600n)
  })

  test('deploys the RMAPenalty library, links it, and reuses a given one', async () => {
    const [deployer] = anvil.accounts
    const first = await deploySettlement(deployer!)
    const library = first.penaltyLibraryAddress.slice(2).toLowerCase()
    expect((await anvil.provider.getCode(first.penaltyLibraryAddress)).length).toBeGreaterThan(2)
    expect(await anvil.provider.getCode(first.address)).toContain(library)
    const second = await deploySettlement(deployer!, {
      penaltyLibrary: first.penaltyLibraryAddress,
      fraudVerifier: first.fraudVerifierAddress,
    })
    expect(second.penaltyLibraryAddress).toBe(first.penaltyLibraryAddress)
    expect(await anvil.provider.getCode(second.address)).toContain(library)
    expect(await second.contract.fraudVerifier()).toBe(first.fraudVerifierAddress)
  })

  test('takes another owner', async () => {
    const [deployer, treasury] = anvil.accounts
    const { address } = await deploySettlement(deployer!, { owner: treasury!.address })
    expect(await getSettlementContract(address, anvil.provider).owner()).toBe(treasury!.address)
  })
})

describe('deployTestToken', () => {
  test('deploys a 6-decimal token anyone can mint', async () => {
    const [deployer, stranger] = anvil.accounts
    const { address, contract } = await deployTestToken(deployer!)
    expect([await contract.name(), await contract.symbol(), await contract.decimals()]).toEqual([
      'Test USD',
      'tUSD',
      6n,
    ])
    const token = getTestTokenContract(address, stranger!)
    await mined(token.mint(stranger!.address, 123n))
    expect(await token.balanceOf(stranger!.address)).toBe(123n)
    expect(await token.totalSupply()).toBe(123n)
  })

  test('takes a name, a symbol and decimals', async () => {
    const [deployer] = anvil.accounts
    const { contract } = await deployTestToken(deployer!, {
      name: 'Test Dai',
      symbol: 'tDAI',
      decimals: 18,
    })
    expect([await contract.name(), await contract.symbol(), await contract.decimals()]).toEqual([
      'Test Dai',
      'tDAI',
      18n,
    ])
  })
})
