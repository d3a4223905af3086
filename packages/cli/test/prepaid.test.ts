import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readAssetStatus } from '@rma/audit'
import {
  type Anvil,
  deploySettlementFixture,
  type SettlementFixture,
  startAnvil,
} from '@rma/contracts/testing'
import {
  type Address,
  createDomain,
  type Hex,
  type ReceiptStore,
  type RmaDomain,
  signAck,
} from '@rma/core'
import { createSqliteStore } from '@rma/store'
import { appendReceipts } from '@rma/store/testing'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { formatDuration } from '../src/formatDuration.js'
import { lastLine, runRma } from './runRma.js'
import { demoShares } from './startDeployment.js'

let anvil: Anvil
let fx: SettlementFixture
let dir: string
let dbPath: string
let domain: RmaDomain
let env: Record<string, string>
let alice: Wallet
let bob: Wallet
let stranger: Wallet

const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>
const prepaid = async (user: string) =>
  (await fx.settlement.prepaidBalance(fx.tokenAddress, user)).balance
const tokens = (address: string) => fx.token.balanceOf(address)
/** Everything that could move: the contract's tokens and each account's prepaid balance and tokens. */
const snapshotOf = async (...accounts: string[]) => [
  await tokens(fx.settlementAddress),
  ...(await Promise.all(accounts.map(async (a) => [await prepaid(a), await tokens(a)]))),
]
const withKey = (key: string) => ({ ...env, RMA_USER_PRIVATE_KEY: key })

/** Every failure is one line on stderr naming the command: no stack trace. */
function expectOneLineError(stderr: string) {
  expect(stderr).not.toMatch(/\n\s+at /)
  expect(lastLine(stderr)).toMatch(/^rma [a-z -]+: /)
}

/** Opens the provider's SQLite store, runs `work` on it, and closes it before `rma` reads it. */
async function withStore<T>(work: (store: ReceiptStore) => Promise<T>): Promise<T> {
  const store = createSqliteStore({ path: dbPath })
  try {
    return await work(store)
  } finally {
    await store.close()
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rma-cli-prepaid-'))
  dbPath = join(dir, 'receipts.db')
  anvil = await startAnvil()
  fx = await deploySettlementFixture(anvil, { shares: demoShares })
  ;[alice, bob, stranger] = fx.others as [Wallet, Wallet, Wallet]
  domain = createDomain({
    chainId: anvil.chainId,
    verifyingContract: fx.settlementAddress as Address,
  })
  // The store exists before `settle` runs (it refuses a missing file).
  await withStore(async () => {})
  env = {
    RMA_RPC_URL: anvil.url,
    RMA_CHAIN_ID: String(anvil.chainId),
    RMA_SETTLEMENT_CONTRACT: fx.settlementAddress,
    RMA_ASSET_ID: fx.assetId,
    RMA_USER_PRIVATE_KEY: alice.privateKey,
    RMA_SETTLER_PRIVATE_KEY: fx.settler.privateKey,
    RMA_METER_PRIVATE_KEY: fx.meter.privateKey,
    RMA_DB: dbPath,
  }
})
afterAll(async () => {
  await anvil?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('prepaid balances with rma on anvil', () => {
  test('deposit moves exactly the amount from the key into its prepaid balance and reports it', async () => {
    const [held, before, wallet] = [
      await tokens(fx.settlementAddress),
      await prepaid(alice.address),
      await tokens(alice.address),
    ]
    const run = await runRma(['deposit', '100000', '--json'], env)
    expect(run.stderr).toContain('depositFor: mined')
    expect(run.code).toBe(0)
    expect(json(run.stdout)).toMatchObject({
      ok: true,
      user: alice.address,
      amount: '100000',
      balance: (before + 100_000n).toString(),
    })
    expect(await prepaid(alice.address)).toBe(before + 100_000n)
    expect(await tokens(alice.address)).toBe(wallet - 100_000n)
    expect(await tokens(fx.settlementAddress)).toBe(held + 100_000n)
  })

  test('deposit --for credits another address, paid by the key', async () => {
    const [aliceBalance, bobBalance, wallet] = [
      await prepaid(alice.address),
      await prepaid(bob.address),
      await tokens(alice.address),
    ]
    const run = await runRma(['deposit', '2500', '--for', bob.address.toLowerCase()], env)
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`deposited 2500 for ${bob.address} (paid by ${alice.address})`)
    expect(run.stdout).toContain(`prepaid balance ${bobBalance + 2_500n}`)
    expect(await prepaid(bob.address)).toBe(bobBalance + 2_500n)
    expect(await prepaid(alice.address)).toBe(aliceBalance)
    expect(await tokens(alice.address)).toBe(wallet - 2_500n)
  })

  test('a key without the token moves nothing and sends nothing: one line, exit 5', async () => {
    const poor = Wallet.createRandom()
    await anvil.provider.send('anvil_setBalance', [poor.address, '0xde0b6b3a7640000'])
    const before = await snapshotOf(poor.address, alice.address)
    const run = await runRma(['deposit', '1000', '--for', alice.address], withKey(poor.privateKey))
    expect(run.code).toBe(5)
    expectOneLineError(run.stderr)
    expect(lastLine(run.stderr)).toContain(`holds 0 of the payment token`)
    expect(lastLine(run.stderr)).toContain('nothing was sent')
    expect(await snapshotOf(poor.address, alice.address)).toEqual(before)
    // Not even an approve: the poor key's nonce is untouched.
    expect(await anvil.provider.getTransactionCount(poor.address)).toBe(0)
  })

  test('bad input is refused before anything is sent', async () => {
    const before = await snapshotOf(alice.address)
    for (const [args, code, text] of [
      [['deposit', '1.5'], 2, '1500000'],
      [['deposit', '0'], 2, 'is 0'],
      [['deposit', '10', '--for', '0x1234'], 2, '--for must be an address'],
      [['withdraw-balance', '--request', '0.5'], 2, 'base units'],
      [['balance', 'nobody'], 2, '40 hex digits'],
    ] as const) {
      const run = await runRma(args, env)
      expect(run.code, args.join(' ')).toBe(code)
      expectOneLineError(run.stderr)
      expect(lastLine(run.stderr)).toContain(text)
    }
    const noKey = await runRma(['deposit', '10'], { ...env, RMA_USER_PRIVATE_KEY: '0x12' })
    expect(noKey.code).toBe(2)
    expect(lastLine(noKey.stderr)).toContain('RMA_USER_PRIVATE_KEY is not a valid private key')
    expect(noKey.stderr).not.toContain('0x12')
    expect(await snapshotOf(alice.address)).toEqual(before)
  })

  test("a stranger's key can neither request nor withdraw anyone's balance", async () => {
    const before = await snapshotOf(alice.address, stranger.address)
    const request = await runRma(
      ['withdraw-balance', '--request', '1000'],
      withKey(stranger.privateKey),
    )
    expect(request.code).toBe(5)
    expectOneLineError(request.stderr)
    expect(lastLine(request.stderr)).toContain('(InsufficientBalance)')
    const withdraw = await runRma(['withdraw-balance'], withKey(stranger.privateKey))
    expect(withdraw.code).toBe(5)
    expect(lastLine(withdraw.stderr)).toContain('has no withdrawal requested')
    expect(await snapshotOf(alice.address, stranger.address)).toEqual(before)
  })

  test('withdraw before the delay is refused with the time left (nothing moves), paid after it', async () => {
    const request = await runRma(['withdraw-balance', '--request', '40000', '--json'], env)
    expect(request.code).toBe(0)
    const requested = json(request.stdout)
    expect(requested).toMatchObject({ withdrawalRequested: '40000' })
    const shown = await runRma(['balance', alice.address, '--json'], {
      ...env,
      RMA_USER_PRIVATE_KEY: '',
    })
    expect(shown.code).toBe(0)
    const onChain = await fx.settlement.prepaidBalance(fx.tokenAddress, alice.address)
    expect(json(shown.stdout)).toMatchObject({
      user: alice.address,
      balance: onChain.balance.toString(),
      withdrawalRequested: '40000',
      withdrawableAt: Number(onChain.withdrawableAt),
      withdrawableNow: false,
    })

    const before = await snapshotOf(alice.address)
    const early = await runRma(['withdraw-balance'], env)
    expect(early.code).toBe(5)
    expectOneLineError(early.stderr)
    const delay = Number(await fx.settlement.withdrawalDelay())
    expect(delay).toBe(24 * 3600)
    // Decoded from the chain: when it unlocks, less the chain's time now.
    const now = BigInt((await anvil.provider.getBlock('latest'))!.timestamp)
    expect(onChain.withdrawableAt - now).toBeGreaterThan(0n)
    expect(lastLine(early.stderr)).toContain(
      `still locked for ${formatDuration(onChain.withdrawableAt - now)} (until`,
    )
    expect(lastLine(early.stderr)).toMatch(/\(WithdrawalLocked\)\.$/)
    expect(lastLine(early.stderr)).toContain(
      new Date(Number(onChain.withdrawableAt) * 1000).toISOString(),
    )
    expect(await snapshotOf(alice.address)).toEqual(before)

    await anvil.increaseTime(delay)
    const wallet = await tokens(alice.address)
    const balance = await prepaid(alice.address)
    const run = await runRma(['withdraw-balance', '--json'], env)
    expect(run.code).toBe(0)
    expect(json(run.stdout)).toMatchObject({
      amount: '40000',
      balance: (balance - 40_000n).toString(),
    })
    expect(await tokens(alice.address)).toBe(wallet + 40_000n)
    expect(await prepaid(alice.address)).toBe(balance - 40_000n)
    const again = await runRma(['balance'], env)
    expect(again.stdout).toContain('no withdrawal requested')
  })

  test('settle --once --mode prepaid applies acked vouchers; a forged one is skipped and debits nothing', async () => {
    const assetId = fx.assetId as Hex
    // Alice: 3 receipts of 1,000, her ack of the third (her voucher for 3,000).
    // Bob: 2 receipts, "acked" by a stranger's signature passed off as his.
    const [aliceAck, forged] = await withStore(async (store) => {
      await appendReceipts(store, {
        domain,
        assetId,
        meter: fx.meter,
        user: alice.address as Address,
        count: 3,
      })
      await appendReceipts(store, {
        domain,
        assetId,
        meter: fx.meter,
        user: bob.address as Address,
        count: 2,
      })
      const unsettled = await store.listUnsettled({ assetId })
      const last = (user: Wallet) =>
        unsettled.filter((r) => r.receipt.user.toLowerCase() === user.address.toLowerCase()).at(-1)!
      const ackOf = (signer: Wallet, user: Wallet) =>
        signAck({
          signer,
          domain,
          ack: {
            assetId,
            user: signer.address as Address,
            meter: fx.meter.address as Address,
            seq: last(user).receipt.seq,
            receiptHash: last(user).hash,
            cumulativeAmount: last(user).receipt.cumulativeAmount,
          },
        })
      const a = await ackOf(alice, alice)
      const f = await ackOf(stranger, bob)
      await store.addAck(a)
      await store.addAck({ ...f, user: bob.address as Address })
      return [a, f]
    })
    expect(aliceAck.cumulativeAmount).toBe(3_000n)
    expect(forged.cumulativeAmount).toBe(2_000n)
    const aliceBefore = await prepaid(alice.address)
    const bobBefore = await prepaid(bob.address)
    const settlerTokens = await tokens(fx.settler.address)

    const run = await runRma(['settle', '--once', '--mode', 'prepaid', '--json'], env)
    expect(run.code).toBe(0)
    const out = json(run.stdout)
    expect(out).toMatchObject({
      ok: true,
      mode: 'prepaid',
      status: 'settled',
      epoch: 1,
      revenue: '3000',
      receiptCount: 3,
      vouchers: 1,
      settledVouchers: 1,
      skipped: [{ user: bob.address, seq: 2, reason: 'BadSignature', onChain: false }],
    })
    const rebate = (3_000n * BigInt(demoShares.usersBps)) / 10_000n
    expect(await prepaid(alice.address)).toBe(aliceBefore - 3_000n + rebate)
    expect(await prepaid(bob.address)).toBe(bobBefore)
    expect((await fx.settlement.settledVoucher(assetId, fx.meter.address, bob.address))[1]).toBe(0n)
    // The provider paid nothing in.
    expect(await tokens(fx.settler.address)).toBe(settlerTokens)

    // The mode from the examples' variable; the text output names the skipped voucher.
    const idle = await runRma(['settle', '--once'], { ...env, RMA_SETTLEMENT_MODE: 'prepaid' })
    expect(idle.code).toBe(0)
    expect(idle.stdout).toMatch(/^idle: no voucher to apply; 2 unsettled receipt\(s\)/)
    expect(await prepaid(bob.address)).toBe(bobBefore)

    // status --json stays exactly @rma/audit's readAssetStatus after a prepaid settlement.
    const status = await runRma(['status', '--json'], env)
    expect(status.code).toBe(0)
    const read = await readAssetStatus({
      rpcUrl: anvil.url,
      contract: fx.settlementAddress,
      assetId: fx.assetId,
    })
    expect(JSON.parse(status.stdout)).toEqual(JSON.parse(JSON.stringify(read)))
  })

  test('settle --mode prepaid with a key that is not the settler sends nothing', async () => {
    const before = await snapshotOf(alice.address, bob.address)
    const run = await runRma(['settle', '--once', '--mode', 'prepaid'], {
      ...env,
      RMA_SETTLER_PRIVATE_KEY: stranger.privateKey,
    })
    expect(run.code).toBe(5)
    expectOneLineError(run.stderr)
    expect(lastLine(run.stderr)).toContain(`not the asset's settler ${fx.settler.address}`)
    expect(await snapshotOf(alice.address, bob.address)).toEqual(before)
    const bad = await runRma(['settle', '--once', '--mode', 'later'], env)
    expect(bad.code).toBe(2)
    expect(lastLine(bad.stderr)).toContain('must be postpaid or prepaid')
  })

  test('doctor in prepaid mode: the settler needs no token, only to be the settler', async () => {
    // Empty the settler's wallet of the payment token: postpaid, every batch would be refused.
    const all = await tokens(fx.settler.address)
    await (await fx.token.connect(fx.settler).transfer(stranger.address, all)).wait()
    const check = async (extra: Record<string, string>) => {
      const run = await runRma(['doctor', '--json'], { ...env, ...extra })
      const { checks } = json(run.stdout) as {
        checks: { name: string; status: string; detail: string; fix?: string }[]
      }
      return (name: string) => checks.find((c) => c.name === name)
    }
    const postpaid = await check({})
    expect(postpaid('settler funded')).toMatchObject({ status: 'fail' })
    const prepaidMode = await check({ RMA_SETTLEMENT_MODE: 'prepaid' })
    expect(prepaidMode('settler key')).toMatchObject({ status: 'pass' })
    expect(prepaidMode('settler funded')?.status).toBe('n/a')
    expect(prepaidMode('settler funded')?.detail).toContain('needs no payment token')
    // The prepaid epoch settled above has no batch file to check, and none is asked for.
    expect((await fx.settlement.getAsset(fx.assetId)).epoch).toBe(1n)
    expect(prepaidMode('batch files')).toMatchObject({ status: 'n/a' })
    expect(prepaidMode('batch files')?.detail).toContain('publish no batch file')
    const wrongKey = await check({
      RMA_SETTLEMENT_MODE: 'prepaid',
      RMA_SETTLER_PRIVATE_KEY: stranger.privateKey,
    })
    expect(wrongKey('settler key')).toMatchObject({ status: 'fail' })
    expect(wrongKey('settler key')?.fix).toContain(`rma asset set-settler ${stranger.address}`)
  })
})
