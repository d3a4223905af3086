import { readFile, rename, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { type Address, createDomain, type Hex } from '@rma/core'
import { prices as meterPrices } from '@rma/express/testing'
import { createSqliteStore } from '@rma/store'
import { appendReceipts } from '@rma/store/testing'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { DoctorReport } from '../src/DoctorCheck.js'
import { lastLine, runRma } from './runRma.js'
import { startBatchHost } from './startBatchHost.js'
import { type Deployment, startDeployment } from './startDeployment.js'

let d: Deployment
let host: Awaited<ReturnType<typeof startBatchHost>>
let blackhole: Server
let asset2: Hex
let env2: Record<string, string>

const doctor = async (env: Record<string, string>, args: string[] = []) => {
  const run = await runRma(['doctor', '--json', ...args], env, { killAfterMs: 30_000 })
  expect(run.stderr).not.toMatch(/\n\s+at /)
  return { ...run, report: JSON.parse(run.stdout) as DoctorReport }
}
const check = (report: DoctorReport, name: string) => report.checks.find((c) => c.name === name)

beforeAll(async () => {
  d = await startDeployment()
  expect((await runRma(['stake', '1000000'], d.env)).code).toBe(0)
  // The issuer commits the meter's price table (the doctor reports the latest version).
  const prices = join(d.dir, 'prices.json')
  const models = Object.fromEntries(
    [...meterPrices.models].map(([name, versions]) => [
      name,
      versions.map((v) => ({
        effectiveFrom: v.effectiveFrom,
        input: String(v.input),
        cachedInput: String(v.cachedInput),
        cacheWrite: String(v.cacheWrite),
        output: String(v.output),
        reasoning: String(v.reasoning),
      })),
    ]),
  )
  await writeFile(prices, JSON.stringify({ models }))
  const committed = await runRma(
    ['asset', 'commit-prices', prices, '--uri', 'http://127.0.0.1/prices.json'],
    d.env,
  )
  expect(committed.code, committed.stderr).toBe(0)
  await d.call(d.users[0]!, 2)
  expect((await runRma(['settle', '--once'], d.env)).code).toBe(0)
  blackhole = createServer(() => {})
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve))

  // A second asset on the same contract, registered with rma; its batches go to a host the test controls.
  const registered = await runRma(
    [
      'asset',
      'register',
      '--salt',
      'second-model',
      '--token',
      d.fx.tokenAddress,
      '--settler',
      d.fx.settler.address,
      '--issuer-bps',
      '5000',
      '--supporters-bps',
      '3000',
      '--users-bps',
      '1500',
      '--protocol-bps',
      '500',
      '--unbonding',
      '7d',
      '--meter',
      d.fx.meter.address,
      '--json',
    ],
    d.env,
  )
  expect(registered.code).toBe(0)
  asset2 = JSON.parse(registered.stdout).assetId
  host = await startBatchHost(join(d.dir, 'batches2'))
  const { RMA_PROVIDER_URL: _provider, ...rest } = d.env
  env2 = {
    ...rest,
    RMA_ASSET_ID: asset2,
    RMA_DB: join(d.dir, 'receipts2.db'),
    RMA_BATCH_DIR: join(d.dir, 'batches2'),
    RMA_BATCH_BASE_URI: host.url,
  }
})
afterAll(async () => {
  await host?.close()
  blackhole?.close()
  await d?.close()
})

describe('rma doctor on a healthy demo-like deployment', () => {
  test('every check passes, the committed price table included', async () => {
    const { code, report } = await doctor(d.env)
    expect(report.checks.filter((c) => c.status !== 'pass' && c.status !== 'n/a')).toEqual([])
    expect(code).toBe(0)
    expect(report.ok).toBe(true)
    expect(report.checks.map((c) => c.name)).toEqual([
      'configuration',
      'chain reachable',
      'chain id',
      'contract code',
      'asset registered',
      'provider health',
      'meter authorised',
      'settler key',
      'settler funded',
      'stake active',
      'price table committed',
      'batch files',
    ])
    expect(check(report, 'price table committed')).toMatchObject({ status: 'pass' })
    expect(check(report, 'price table committed')?.detail).toMatch(
      /^1 version\(s\); latest v1 root 0x[0-9a-f]{64} effective from unix \d+, published at http:\/\/127.0.0.1\/prices.json$/,
    )
    expect(check(report, 'batch files')?.detail).toContain(
      '1 of 1 batch file(s) reachable and matching',
    )
    const text = await runRma(['doctor'], d.env)
    expect(text.code).toBe(0)
    expect(lastLine(text.stdout)).toBe('doctor: every check passed')
  })
})

describe('rma doctor names each misconfiguration and its fix', () => {
  test('unreachable RPC', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const { code, report, stdout } = await doctor({
      ...d.env,
      RMA_RPC_URL: `http://127.0.0.1:${port}`,
    })
    expect(code).toBe(1)
    expect(check(report, 'chain reachable')).toMatchObject({ status: 'fail' })
    expect(check(report, 'chain reachable')?.detail).toMatch(
      /Cannot reach the RPC at .*\(ECONNREFUSED\): start the node or fix RMA_RPC_URL/,
    )
    expect(stdout).not.toContain('contract code')
  })

  test('an RPC that never answers is given up after --timeout, not waited on', async () => {
    const url = `http://127.0.0.1:${(blackhole.address() as AddressInfo).port}`
    const { code, report } = await doctor({ ...d.env, RMA_RPC_URL: url }, ['--timeout', '500'])
    expect(code).toBe(1)
    expect(check(report, 'chain reachable')?.detail).toContain('did not answer within 0.5 s')
    expect(check(report, 'chain reachable')?.detail).toContain('raise --timeout')
  })

  test('wrong chain id', async () => {
    const { code, report } = await doctor({ ...d.env, RMA_CHAIN_ID: '8453' })
    expect(code).toBe(1)
    expect(check(report, 'chain id')).toMatchObject({
      status: 'fail',
      fix: 'set RMA_CHAIN_ID=31337, or point RMA_RPC_URL at chain 8453',
    })
  })

  test('no contract code at the address', async () => {
    const { code, report } = await doctor({
      ...d.env,
      RMA_SETTLEMENT_CONTRACT: Wallet.createRandom().address,
    })
    expect(code).toBe(1)
    expect(check(report, 'contract code')).toMatchObject({ status: 'fail' })
    expect(check(report, 'contract code')?.fix).toContain('rma deploy')
  })

  test('an unregistered asset', async () => {
    const { code, report } = await doctor({ ...d.env, RMA_ASSET_ID: `0x${'42'.repeat(32)}` })
    expect(code).toBe(1)
    expect(check(report, 'asset registered')).toMatchObject({ status: 'fail' })
    expect(check(report, 'asset registered')?.fix).toContain('rma asset register')
  })

  test('a meter key the asset does not authorise (and a provider signing with it)', async () => {
    const rogue = Wallet.createRandom()
    const { code, report } = await doctor({ ...d.env, RMA_METER_PRIVATE_KEY: rogue.privateKey })
    expect(code).toBe(1)
    const failing = report.checks.find((c) => c.name === 'meter authorised' && c.status === 'fail')
    expect(failing?.detail).toContain(`${rogue.address.toLowerCase()} is not a meter of the asset`)
    expect(failing?.fix).toContain(`rma asset set-meter ${rogue.address.toLowerCase()}`)
  })

  test("a settler key that is not the asset's settler", async () => {
    const { code, report } = await doctor({
      ...d.env,
      RMA_SETTLER_PRIVATE_KEY: d.stranger.privateKey,
    })
    expect(code).toBe(1)
    expect(check(report, 'settler key')).toMatchObject({ status: 'fail' })
    expect(check(report, 'settler key')?.fix).toContain(
      `rma asset set-settler ${d.stranger.address}`,
    )
  })

  test('a provider that is down, and one metering another asset', async () => {
    const down = await doctor(
      {
        ...d.env,
        RMA_PROVIDER_URL: `http://127.0.0.1:${(blackhole.address() as AddressInfo).port}`,
      },
      ['--timeout', '500'],
    )
    expect(down.code).toBe(1)
    expect(check(down.report, 'provider health')?.detail).toContain('did not answer within 0.5 s')
    const other = await doctor({ ...env2, RMA_PROVIDER_URL: d.app.url })
    expect(check(other.report, 'provider health')?.detail).toContain(
      `it meters asset ${d.fx.assetId}, not ${asset2}`,
    )
  })

  test("a batch file altered on the provider's disk after settlement", async () => {
    const [file] =
      (await runRma(['status', '--json'], d.env)).stdout.match(/[^/"]+\/0x[0-9a-f]{64}\.json/) ?? []
    const path = join(d.batchDir, file!)
    const original = await readFile(path)
    try {
      await writeFile(path, original.toString().replace(/"revenue": "(\d)/, '"revenue": "9$1'))
      const altered = await doctor(d.env)
      expect(altered.code).toBe(1)
      expect(check(altered.report, 'batch file epoch 1')?.detail).toContain(
        'does not hash to the on-chain batchHash',
      )
      await rename(path, `${path}.gone`)
      const missing = await doctor(d.env)
      expect(check(missing.report, 'batch file epoch 1')?.detail).toContain('is missing (HTTP 404)')
      await rename(`${path}.gone`, path)
    } finally {
      await writeFile(path, original)
    }
    expect((await doctor(d.env)).code).toBe(0)
  })

  test('no stake, then stake pending until the next settlement', async () => {
    const none = await doctor(env2)
    expect(check(none.report, 'stake active')).toMatchObject({ status: 'fail' })
    expect(check(none.report, 'stake active')?.fix).toContain('rma stake <amount>')
    expect(check(none.report, 'batch files')).toMatchObject({ status: 'n/a' })
    expect((await runRma(['stake', '500000'], env2)).code).toBe(0)
    const pending = await doctor(env2)
    expect(check(pending.report, 'stake active')).toMatchObject({ status: 'warn' })
    expect(pending.code).toBe(0)
  })

  test('batch files that are missing, altered, truncated, oversized or never sent, each one line', async () => {
    const store = createSqliteStore({ path: env2.RMA_DB! })
    await appendReceipts(store, {
      domain: createDomain({
        chainId: 31337,
        verifyingContract: d.fx.settlementAddress as Address,
      }),
      assetId: asset2,
      meter: d.fx.meter,
      user: d.users[1]!.address as Address,
      count: 3,
    })
    await store.close()
    const settled = await runRma(['settle', '--once', '--json'], env2)
    expect(settled.code).toBe(0)
    expect(JSON.parse(settled.stdout).batchUri).toMatch(new RegExp(`^${host.url}/`))
    expect((await doctor(env2)).code).toBe(0)

    const expected = {
      missing: 'is missing (HTTP 404): the settler must publish it',
      altered: 'does not hash to the on-chain batchHash',
      truncated: 'stopped after',
      hang: 'did not arrive within 0.5 s',
    } as const
    for (const [mode, text] of Object.entries(expected)) {
      host.mode = mode as keyof typeof expected
      const { code, report } = await doctor(env2, ['--timeout', '500'])
      expect(code, mode).toBe(1)
      expect(check(report, 'batch file epoch 1')?.detail, mode).toContain(text)
    }
    host.mode = 'ok'
    const oversized = await doctor(env2, ['--max-batch-bytes', '100'])
    expect(oversized.code).toBe(1)
    expect(check(oversized.report, 'batch file epoch 1')?.detail).toContain(
      'is larger than 100 bytes: raise --max-batch-bytes',
    )
  })

  test('a batch URI with a scheme nobody can fetch', async () => {
    const store = createSqliteStore({ path: env2.RMA_DB! })
    await appendReceipts(store, {
      domain: createDomain({
        chainId: 31337,
        verifyingContract: d.fx.settlementAddress as Address,
      }),
      assetId: asset2,
      meter: d.fx.meter,
      user: d.users[1]!.address as Address,
      count: 1,
    })
    await store.close()
    expect(
      (await runRma(['settle', '--once'], { ...env2, RMA_BATCH_BASE_URI: 'ipfs://bafybeigdyrzt' }))
        .code,
    ).toBe(0)
    const { code, report } = await doctor(env2)
    expect(code).toBe(1)
    expect(check(report, 'batch file epoch 1')).toBeUndefined()
    expect(check(report, 'batch file epoch 2')?.detail).toContain('has a URI scheme (ipfs)')
    expect(check(report, 'batch file epoch 2')?.detail).toContain(
      'publish batch files over https://',
    )
  })

  test('a revoked meter, an unfunded settler, and a funded settler that has not approved', async () => {
    const issuerEnv = { ...env2 }
    expect(
      (await runRma(['asset', 'set-meter', d.fx.meter.address, '--revoke'], issuerEnv)).code,
    ).toBe(0)
    const revoked = await doctor(env2)
    expect(revoked.report.checks.find((c) => c.name === 'meter authorised')).toMatchObject({
      status: 'fail',
    })

    const empty = Wallet.createRandom()
    expect((await runRma(['asset', 'set-settler', empty.address], issuerEnv)).code).toBe(0)
    const { RMA_SETTLER_PRIVATE_KEY: _key, ...noSettlerKey } = env2
    const unfunded = await doctor(noSettlerKey)
    expect(check(unfunded.report, 'settler gas')).toMatchObject({ status: 'fail' })
    expect(check(unfunded.report, 'settler funded')).toMatchObject({ status: 'fail' })
    expect(check(unfunded.report, 'settler funded')?.fix).toContain(
      'send the settler the payment token',
    )

    const unapproved = Wallet.createRandom().connect(d.anvil.provider)
    await (await d.fx.owner.sendTransaction({ to: unapproved.address, value: 10n ** 18n })).wait()
    await (await d.fx.token.connect(d.fx.owner).mint(unapproved.address, 1_000_000n)).wait()
    expect((await runRma(['asset', 'set-settler', unapproved.address], issuerEnv)).code).toBe(0)
    const warned = await doctor(noSettlerKey)
    expect(check(warned.report, 'settler funded')).toMatchObject({ status: 'warn' })
    expect(check(warned.report, 'settler funded')?.fix).toContain('approves before its first batch')
  })
})
