import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { lastLine, runRma } from './runRma.js'
import { type Deployment, startDeployment } from './startDeployment.js'

let d: Deployment

/** The error is stderr's last line, after at most one progress line; never a stack trace. */
function expectOneLineError(stderr: string, command: string) {
  const lines = stderr.trim().split('\n')
  expect(lines.length, command).toBeLessThanOrEqual(2)
  expect(
    lines.slice(0, -1).every((l) => l.endsWith('reading the chain and fetching every batch file')),
    command,
  ).toBe(true)
  expect(stderr, command).not.toMatch(/\n\s+at /)
}

beforeAll(async () => {
  d = await startDeployment()
  expect((await runRma(['stake', '2000000'], d.env)).code).toBe(0)
  for (let epoch = 0; epoch < 2; epoch++) {
    await d.call(d.users[0]!, 2)
    await d.call(d.users[1]!, 1)
    expect((await runRma(['settle', '--once'], d.env)).code).toBe(0)
  }
})
afterAll(() => d?.close())

describe('rma audit', () => {
  test('an honest multi-epoch run: exit 0, every epoch ok', async () => {
    const run = await runRma(['audit', '--json'], d.env)
    expect(run.code).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(report).toEqual({
      ok: true,
      epochs: [
        { epoch: 1, status: 'ok' },
        { epoch: 2, status: 'ok' },
      ],
      discrepancies: [],
    })
    const text = await runRma(['audit'], d.env)
    expect(text.stdout.trim()).toBe('audit: 2 epoch(s) re-derived, nothing differs')
  })

  test('a batch file altered after settlement: exit 1, named by kind, epoch and accounts', async () => {
    const status = JSON.parse((await runRma(['status', '--json'], d.env)).stdout)
    const uri: string = status.epochs[0].batchUri
    const path = join(d.batchDir, uri.split('/rma/batches/')[1]!)
    const original = await readFile(path)
    try {
      await writeFile(path, original.toString().replace(/"revenue": "(\d)/, '"revenue": "9$1'))
      const run = await runRma(['audit'], d.env)
      expect(run.code).toBe(1)
      const lines = run.stdout.trim().split('\n')
      expect(lines[0]).toMatch(/^batch-hash-mismatch epoch 1 \[0x[0-9a-f]{40}.*\]: /)
      expect(lastLine(run.stdout)).toMatch(/^audit: \d+ discrepancy\(ies\) in \d of 2 epoch\(s\)$/)
      const json = JSON.parse((await runRma(['audit', '--json'], d.env)).stdout)
      expect(json.ok).toBe(false)
      expect(json.discrepancies[0]).toMatchObject({ kind: 'batch-hash-mismatch', epoch: 1 })
    } finally {
      await writeFile(path, original)
    }
    expect((await runRma(['audit'], d.env)).code).toBe(0)
  })

  test('a settler that commits a batch it never publishes: batch-missing, naming the settler', async () => {
    const { settlement, settler, assetId } = d.fx
    await (
      await settlement
        .connect(settler)
        .settle(
          assetId,
          3,
          5_000n,
          `0x${'ab'.repeat(32)}`,
          `0x${'cd'.repeat(32)}`,
          4,
          `${d.app.url}/rma/batches/${assetId}/0x${'ee'.repeat(32)}.json`,
          `0x${'ee'.repeat(32)}`,
        )
    ).wait()
    const run = await runRma(['audit', '--json'], d.env)
    expect(run.code).toBe(1)
    const report = JSON.parse(run.stdout)
    const missing = report.discrepancies.find((x: { kind: string }) => x.kind === 'batch-missing')
    expect(missing).toMatchObject({ epoch: 3 })
    expect(missing.accounts).toContain(settler.address.toLowerCase())
    expect(report.epochs).toContainEqual({ epoch: 3, status: 'unavailable' })
  })
})

describe('status and audit on bad input: one line, the fix, a documented exit code', () => {
  const cases: [string, Record<string, string>, number, string][] = [
    ['no RPC URL', { RMA_RPC_URL: '' }, 2, 'RMA_RPC_URL is not set'],
    ['a wrong chain id', { RMA_CHAIN_ID: '8453' }, 4, 'serves chain 31337, not chain 8453'],
    [
      'no code at the address',
      { RMA_SETTLEMENT_CONTRACT: Wallet.createRandom().address },
      4,
      'No contract is deployed at',
    ],
    ['an unregistered asset', { RMA_ASSET_ID: `0x${'42'.repeat(32)}` }, 4, 'rma asset register'],
  ]
  for (const [name, env, code, text] of cases)
    test(name, async () => {
      for (const command of ['status', 'audit']) {
        const run = await runRma([command], { ...d.env, ...env })
        expect(run.code, command).toBe(code)
        expectOneLineError(run.stderr, command)
        expect(lastLine(run.stderr), command).toContain(text)
      }
    })

  test('an unreachable RPC', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    for (const command of ['status', 'audit', 'stake 1', 'settle --once', 'serve']) {
      const run = await runRma(command.split(' '), {
        ...d.env,
        RMA_RPC_URL: `http://127.0.0.1:${port}`,
      })
      expect(run.code, command).toBe(3)
      expectOneLineError(run.stderr, command)
    }
  })
})

describe('rma audit --ledger', () => {
  test('a missing or malformed ledger file is one line with the fix, exit 2', async () => {
    const missing = await runRma(['audit', '--ledger', join(d.dir, 'nope.json')], d.env)
    expect(missing.code).toBe(2)
    expect(lastLine(missing.stderr)).toContain('--ledger: cannot read')
    const path = join(d.dir, 'ledger.json')
    await writeFile(path, '{"format":"something else"}')
    const malformed = await runRma(['audit', '--ledger', path], d.env)
    expect(malformed.code).toBe(2)
    expectOneLineError(malformed.stderr, 'audit')
  })
})

describe('no hang', () => {
  test('an RPC that accepts connections and never answers is given up after --timeout', async () => {
    const silent = createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`
      for (const command of ['status', 'audit', 'stake 1', 'claim', 'settle --once']) {
        const run = await runRma(
          [...command.split(' '), '--timeout', '500'],
          { ...d.env, RMA_RPC_URL: url },
          { killAfterMs: 20_000 },
        )
        expect(run.code, command).toBe(3)
        expectOneLineError(run.stderr, command)
      }
    } finally {
      silent.close()
    }
  })

  test('a batch file above --max-batch-bytes is refused, not read', async () => {
    const run = await runRma(['audit', '--max-batch-bytes', '100'], d.env)
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('larger than 100 bytes')
  })
})

describe('rma serve', () => {
  test('serves the explorer page and the status rma status prints, and stops on SIGTERM', async () => {
    const bin = join(dirname(fileURLToPath(import.meta.url)), '../dist/main.js')
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--json'], {
      env: { PATH: process.env.PATH, ...d.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      const [first] = (await once(child.stdout, 'data')) as [Buffer]
      const { url } = JSON.parse(first.toString())
      const page = await fetch(url)
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toContain('text/html')
      const served = await (await fetch(`${url}/api/assets/${d.fx.assetId}/status`)).json()
      const printed = JSON.parse((await runRma(['status', '--json'], d.env)).stdout)
      expect(served).toEqual(printed)
    } finally {
      child.kill('SIGTERM')
    }
    const [code] = await once(child, 'close')
    expect(code).toBe(0)
  })
})
