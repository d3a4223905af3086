import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deployTestToken, getSettlementContract, getTestTokenContract } from '@rma/contracts'
import { type Anvil, startAnvil } from '@rma/contracts/testing'
import { type Address, createDomain, type Hex } from '@rma/core'
import { createSqliteStore } from '@rma/store'
import { appendReceipts } from '@rma/store/testing'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { lastLine, runRma } from './runRma.js'

let anvil: Anvil
let dir: string
let env: Record<string, string>
let contract: Address
let token: Address
const accounts = () => anvil.accounts
const testToken = (runner: Wallet) => getTestTokenContract(token, runner)

beforeAll(async () => {
  anvil = await startAnvil()
  dir = await mkdtemp(join(tmpdir(), 'rma-cli-deploy-'))
  const [owner, issuer] = accounts()
  token = (await deployTestToken(owner!, { decimals: 6 })).address as Address
  env = {
    RMA_RPC_URL: anvil.url,
    RMA_CHAIN_ID: '31337',
    RMA_DEPLOYER_PRIVATE_KEY: owner!.privateKey,
    RMA_ISSUER_PRIVATE_KEY: issuer!.privateKey,
  }
})
afterAll(async () => {
  await anvil?.stop()
  await rm(dir, { recursive: true, force: true })
})

const register = (extra: string[], settler: string, e = env) =>
  runRma(
    [
      'asset',
      'register',
      '--token',
      token,
      '--settler',
      settler,
      '--issuer-bps',
      '5000',
      '--supporters-bps',
      '3000',
      '--users-bps',
      '1500',
      '--protocol-bps',
      '500',
      '--meter',
      accounts()[3]!.address,
      ...extra,
    ],
    e,
  )

describe('rma deploy and rma asset', () => {
  test('deploy prints the contract for an environment file; a key without gas moves nothing', async () => {
    const broke = Wallet.createRandom()
    const refused = await runRma(['deploy'], { ...env, RMA_DEPLOYER_PRIVATE_KEY: broke.privateKey })
    expect(refused.code).toBe(5)
    expect(refused.stderr).not.toMatch(/\n\s+at /)
    expect(lastLine(refused.stderr)).toBe(
      "rma deploy: The key's account cannot pay for gas: send it some of the chain's native coin.",
    )
    const run = await runRma(['deploy'], env)
    expect(run.code).toBe(0)
    const [, address] = /^RMA_SETTLEMENT_CONTRACT=(0x[0-9a-fA-F]{40})\n$/.exec(run.stdout) ?? []
    expect(address).toBeDefined()
    contract = address as Address
    expect(await anvil.provider.getCode(contract)).not.toBe('0x')
    expect(await getSettlementContract(contract, anvil.provider).owner()).toBe(
      accounts()[0]!.address,
    )
    env.RMA_SETTLEMENT_CONTRACT = contract
  })

  test('register prints the asset id; shares not adding up are refused before sending; a taken salt is decoded', async () => {
    const bad = await register(['--salt', 'model-a', '--users-bps', '2000'], accounts()[2]!.address)
    expect(bad.code).toBe(2)
    expect(lastLine(bad.stderr)).toContain(
      'The shares add up to 10500 bps: they must add up to 10000.',
    )
    const run = await register(['--salt', 'model-a', '--json'], accounts()[2]!.address)
    expect(run.code).toBe(0)
    const { assetId } = JSON.parse(run.stdout)
    const asset = await getSettlementContract(contract, anvil.provider).getAsset(assetId)
    expect(asset.issuer).toBe(accounts()[1]!.address)
    expect(asset.unbondingDelay).toBe(7n * 86_400n)
    const again = await register(['--salt', 'model-a'], accounts()[2]!.address)
    expect(again.code).toBe(5)
    expect(lastLine(again.stderr)).toContain('(AssetExists)')
    env.RMA_ASSET_ID = assetId
  })

  test('set-meter and set-settler by someone who is not the issuer change nothing', async () => {
    const settlement = getSettlementContract(contract, anvil.provider)
    const rogue = accounts()[7]!
    const meter = await runRma(['asset', 'set-meter', rogue.address], {
      ...env,
      RMA_ISSUER_PRIVATE_KEY: rogue.privateKey,
    })
    expect(meter.code).toBe(5)
    expect(lastLine(meter.stderr)).toContain("only the asset's issuer may do this (NotIssuer)")
    expect(await settlement.isMeter(env.RMA_ASSET_ID!, rogue.address)).toBe(false)
    const settler = await runRma(['asset', 'set-settler', rogue.address], {
      ...env,
      RMA_ISSUER_PRIVATE_KEY: rogue.privateKey,
    })
    expect(settler.code).toBe(5)
    expect((await settlement.getAsset(env.RMA_ASSET_ID!)).settler).toBe(accounts()[2]!.address)
  })

  test('a settler without the payment token: the chain refuses, decoded, and nothing is recorded or moved', async () => {
    const settler = accounts()[8]!
    const registered = await register(['--salt', 'model-b', '--json'], settler.address)
    const assetId = JSON.parse(registered.stdout).assetId as Hex
    const db = join(dir, 'b.db')
    const store = createSqliteStore({ path: db })
    await appendReceipts(store, {
      domain: createDomain({ chainId: 31337, verifyingContract: contract }),
      assetId,
      meter: accounts()[3]!,
      user: accounts()[9]!.address as Address,
      count: 3,
    })
    await store.close()
    const run = await runRma(['settle', '--once'], {
      ...env,
      RMA_ASSET_ID: assetId,
      RMA_SETTLER_PRIVATE_KEY: settler.privateKey,
      RMA_DB: db,
      RMA_BATCH_DIR: join(dir, 'batches'),
      RMA_PUBLIC_URL: 'https://provider.example',
    })
    expect(run.code).toBe(5)
    expect(lastLine(run.stderr)).toBe(
      'rma settle: The settlement contract refused: the settler holds 0 of 3000 needed (ERC20InsufficientBalance).',
    )
    expect((await getSettlementContract(contract, anvil.provider).getAsset(assetId)).epoch).toBe(0n)
    const reopened = createSqliteStore({ path: db })
    expect(await reopened.latestBatch(assetId)).toBeUndefined()
    expect(await reopened.listUnsettled({ assetId, limit: 10 })).toHaveLength(3)
    await reopened.close()

    // rma doctor sees it coming: the store holds 3000 to settle, the settler 1000.
    await (await testToken(accounts()[0]!).mint(settler.address, 1_000n)).wait()
    const { code, stdout } = await runRma(['doctor', '--json'], {
      ...env,
      RMA_ASSET_ID: assetId,
      RMA_SETTLER_PRIVATE_KEY: settler.privateKey,
      RMA_DB: db,
    })
    expect(code).toBe(1)
    const funded = JSON.parse(stdout).checks.find(
      (c: { name: string }) => c.name === 'settler funded',
    )
    expect(funded).toMatchObject({
      status: 'fail',
      fix: 'send the settler at least 2000 more of the payment token, or deposit it',
    })
    expect(funded.detail).toContain(
      'the next batch needs 3000 (3 unsettled receipt(s) in the store)',
    )
  })
})
