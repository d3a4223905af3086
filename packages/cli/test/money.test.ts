import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readAssetStatus } from '@rma/audit'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { lastLine, runRma } from './runRma.js'
import { type Deployment, startDeployment } from './startDeployment.js'

let d: Deployment
const balance = (address: string) => d.fx.token.balanceOf(address)
const contractBalance = () => balance(d.fx.settlementAddress)
const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>

beforeAll(async () => {
  d = await startDeployment()
})
afterAll(() => d?.close())

/** Every failure is one line on stderr: no stack trace. */
function expectOneLineError(stderr: string) {
  expect(stderr).not.toMatch(/\n\s+at /)
  expect(lastLine(stderr)).toMatch(/^rma [a-z -]+: /)
}

describe('money-moving commands on anvil', () => {
  test('stake moves exactly the amount from the supporter into pending stake', async () => {
    const before = await balance(d.supporter.address)
    const run = await runRma(['stake', '1000000', '--json'], d.env)
    expect(run.stderr).toContain('stake: mined')
    expect(run.code).toBe(0)
    expect(json(run.stdout)).toMatchObject({ ok: true, amount: '1000000', pending: '1000000' })
    expect(await balance(d.supporter.address)).toBe(before - 1_000_000n)
    expect((await d.fx.settlement.pendingStakeOf(d.fx.assetId, d.supporter.address)).amount).toBe(
      1_000_000n,
    )
  })

  test('stake on an unregistered asset moves nothing: one line, exit 4', async () => {
    const before = await balance(d.supporter.address)
    const held = await contractBalance()
    const run = await runRma(['stake', '5', '--asset', `0x${'77'.repeat(32)}`], d.env)
    expect(run.code).toBe(4)
    expectOneLineError(run.stderr)
    expect(lastLine(run.stderr)).toContain('is not registered')
    expect(lastLine(run.stderr)).toContain('rma asset register')
    expect(await balance(d.supporter.address)).toBe(before)
    expect(await contractBalance()).toBe(held)
  })

  test('a decimal amount is refused before anything is sent, with the conversion', async () => {
    const run = await runRma(['stake', '1.5'], d.env)
    expect(run.code).toBe(2)
    expect(lastLine(run.stderr)).toContain('1500000')
  })

  test('settle --once with a key that is not the settler builds and sends nothing', async () => {
    await d.call(d.users[0]!, 3)
    await d.call(d.users[1]!, 1)
    const before = [
      await balance(d.stranger.address),
      await balance(d.fx.settler.address),
      await contractBalance(),
    ]
    const run = await runRma(['settle', '--once'], {
      ...d.env,
      RMA_SETTLER_PRIVATE_KEY: d.stranger.privateKey,
    })
    expect(run.code).toBe(5)
    expectOneLineError(run.stderr)
    expect(lastLine(run.stderr)).toContain(`not the asset's settler ${d.fx.settler.address}`)
    expect([
      await balance(d.stranger.address),
      await balance(d.fx.settler.address),
      await contractBalance(),
    ]).toEqual(before)
    expect((await d.fx.settlement.getAsset(d.fx.assetId)).epoch).toBe(0n)
  })

  test('settle --once pays the batch revenue in and publishes the batch at <publicUrl>/rma/batches, immutable', async () => {
    const settlerBefore = await balance(d.fx.settler.address)
    const held = await contractBalance()
    const depositOf = () => d.fx.settlement.depositOf(d.fx.assetId, d.fx.settler.address)
    const depositBefore = await depositOf()
    const run = await runRma(['settle', '--once', '--json'], d.env)
    expect(run.code).toBe(0)
    const out = json(run.stdout)
    expect(out).toMatchObject({ ok: true, status: 'settled', epoch: 1, receiptCount: 4 })
    const revenue = BigInt(out.revenue as string)
    expect(revenue).toBeGreaterThan(0n)
    // The settler paid the revenue, and topped up its own deposit for coming batches (the
    // settlement client's default): what left its wallet is the revenue plus the deposit's rise.
    const topUp = (await depositOf()) - depositBefore
    expect(topUp).toBeGreaterThanOrEqual(0n)
    expect(await balance(d.fx.settler.address)).toBe(settlerBefore - revenue - topUp)
    expect(await contractBalance()).toBe(held + revenue + topUp)
    expect(out.batchUri).toMatch(
      new RegExp(`^${d.app.url}/rma/batches/0x[0-9a-f]{64}/0x[0-9a-f]{64}\\.json$`),
    )
    const res = await fetch(out.batchUri as string)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(res.headers.get('etag')).toBe(`"${out.batchHash}"`)
    // Nothing left: a second round is idle and moves nothing.
    const idle = await runRma(['settle', '--once', '--json'], d.env)
    expect(json(idle.stdout)).toMatchObject({ ok: true, status: 'idle', unsettled: 0 })
  })

  test('a supporter claims exactly its rewards; a stranger claiming gets NothingToClaim and nothing moves', async () => {
    await d.call(d.users[0]!, 2)
    expect((await runRma(['settle', '--once'], d.env)).code).toBe(0)
    const claimable = await d.fx.settlement.claimableRewards(d.fx.assetId, d.supporter.address)
    expect(claimable).toBeGreaterThan(0n)

    const strangerBefore = await balance(d.stranger.address)
    const held = await contractBalance()
    const refused = await runRma(['claim'], {
      ...d.env,
      RMA_SUPPORTER_PRIVATE_KEY: d.stranger.privateKey,
    })
    expect(refused.code).toBe(5)
    expectOneLineError(refused.stderr)
    expect(lastLine(refused.stderr)).toContain('(NothingToClaim)')
    expect(await balance(d.stranger.address)).toBe(strangerBefore)
    expect(await contractBalance()).toBe(held)

    const before = await balance(d.supporter.address)
    const run = await runRma(['claim', '--json'], d.env)
    expect(run.code).toBe(0)
    expect(json(run.stdout)).toMatchObject({ role: 'supporter', amount: claimable.toString() })
    expect(await balance(d.supporter.address)).toBe(before + claimable)
  })

  test("a user claims its rebates with the provider's proofs, once", async () => {
    const user = d.users[0]!
    const proof = (await (await fetch(`${d.app.url}/rma/proofs/${user.address}`)).json()) as {
      total: string
    }
    const before = await balance(user.address)
    const run = await runRma(['claim', '--as', 'user', '--json'], d.env)
    expect(run.code).toBe(0)
    expect(json(run.stdout)).toMatchObject({ role: 'user', amount: proof.total, epochs: [1, 2] })
    expect(await balance(user.address)).toBe(before + BigInt(proof.total))
    const again = await runRma(['claim', '--as', 'user'], d.env)
    expect(again.code).toBe(5)
    expect(lastLine(again.stderr)).toContain('no unclaimed rebate')
    expect(await balance(user.address)).toBe(before + BigInt(proof.total))
  })

  test('a lying provider serving an inflated proof gets nothing sent', async () => {
    const user = d.users[1]!
    const real = (await (await fetch(`${d.app.url}/rma/proofs/${user.address}`)).json()) as {
      claims: { epoch: number; amount: string; proof: string[] }[]
    }
    const forged = {
      ...real,
      claims: real.claims.map((c) => ({ ...c, amount: (BigInt(c.amount) * 10n).toString() })),
    }
    const liar: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(forged))
    })
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve))
    try {
      const before = await balance(user.address)
      const held = await contractBalance()
      const run = await runRma(['claim', '--as', 'user'], {
        ...d.env,
        RMA_USER_PRIVATE_KEY: user.privateKey,
        RMA_PROVIDER_URL: `http://127.0.0.1:${(liar.address() as AddressInfo).port}`,
      })
      expect(run.code).toBe(1)
      expect(lastLine(run.stderr)).toContain(
        "does not match that epoch's rebate root on chain: nothing was sent",
      )
      expect(await balance(user.address)).toBe(before)
      expect(await contractBalance()).toBe(held)
    } finally {
      await new Promise((resolve) => liar.close(resolve))
    }
  })

  test('the issuer is paid exactly what it is owed', async () => {
    const owed = (await d.fx.settlement.getAsset(d.fx.assetId)).issuerOwed
    const before = await balance(d.fx.issuer.address)
    const run = await runRma(['claim', '--as', 'issuer', '--json'], d.env)
    expect(run.code).toBe(0)
    expect(json(run.stdout)).toMatchObject({ amount: owed.toString() })
    expect(await balance(d.fx.issuer.address)).toBe(before + owed)
  })

  test('the protocol fee goes to the owner whoever sends the claim, the sender gets nothing', async () => {
    const owed = (await d.fx.settlement.getAsset(d.fx.assetId)).protocolOwed
    expect(owed).toBeGreaterThan(0n)
    const before = await balance(d.fx.owner.address)
    const strangerBefore = await balance(d.stranger.address)
    const run = await runRma(['claim', '--as', 'protocol', '--json'], {
      ...d.env,
      RMA_OWNER_PRIVATE_KEY: d.stranger.privateKey,
    })
    expect(run.code).toBe(0)
    expect(json(run.stdout)).toMatchObject({ payee: d.fx.owner.address, amount: owed.toString() })
    expect(await balance(d.fx.owner.address)).toBe(before + owed)
    expect(await balance(d.stranger.address)).toBe(strangerBefore)
    const again = await runRma(['claim', '--as', 'protocol'], d.env)
    expect(again.code).toBe(5)
    expect(lastLine(again.stderr)).toContain('(NothingToClaim)')
  })

  test('unstake, withdraw refused before the delay (nothing moves), withdrawn after it', async () => {
    const unstake = await runRma(['unstake', '--json'], d.env)
    expect(unstake.code).toBe(0)
    expect(json(unstake.stdout)).toMatchObject({ amount: '1000000', unbonding: '1000000' })
    const before = await balance(d.supporter.address)
    const early = await runRma(['withdraw'], d.env)
    expect(early.code).toBe(5)
    expect(lastLine(early.stderr)).toContain('(StillUnbonding)')
    expect(await balance(d.supporter.address)).toBe(before)
    // Someone else's key withdraws nothing of it.
    const stranger = await runRma(['withdraw'], {
      ...d.env,
      RMA_SUPPORTER_PRIVATE_KEY: d.stranger.privateKey,
    })
    expect(stranger.code).toBe(5)
    await d.anvil.increaseTime(7 * 24 * 3600 + 1)
    const run = await runRma(['withdraw', '--json'], d.env)
    expect(run.code).toBe(0)
    expect(await balance(d.supporter.address)).toBe(before + 1_000_000n)
  })

  test('status --json prints exactly what readAssetStatus reads', async () => {
    const run = await runRma(['status', '--json'], d.env)
    expect(run.code).toBe(0)
    const status = await readAssetStatus({
      rpcUrl: d.anvil.url,
      contract: d.fx.settlementAddress,
      assetId: d.fx.assetId,
    })
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(JSON.stringify(status)))
    expect(status.epochs).toHaveLength(2)
  })

  test('asset set-challenge-window: only the issuer; a later batch is pending in status until a round after the window releases it', async () => {
    const { settlement, assetId } = d.fx
    const refused = await runRma(['asset', 'set-challenge-window', '2h'], {
      ...d.env,
      RMA_ISSUER_PRIVATE_KEY: d.stranger.privateKey,
    })
    expect(refused.code).not.toBe(0)
    expectOneLineError(refused.stderr)
    expect(lastLine(refused.stderr)).toContain("only the asset's issuer may do this")
    expect(await settlement.challengeWindowOf(assetId)).toBe(0n)
    await expect(
      runRma(['asset', 'set-challenge-window', '8d'], d.env).then((r) => r.code),
    ).resolves.not.toBe(0)

    const set = await runRma(['asset', 'set-challenge-window', '2h', '--json'], d.env)
    expect(set.code).toBe(0)
    expect(json(set.stdout)).toMatchObject({ ok: true, challengeWindow: 7200, previous: 0 })
    expect(await settlement.challengeWindowOf(assetId)).toBe(7200n)

    await d.call(d.users[0]!, 2)
    const settled = json((await runRma(['settle', '--once', '--json'], d.env)).stdout)
    expect(settled).toMatchObject({ ok: true, status: 'settled', epoch: 3 })
    const text = await runRma(['status'], d.env)
    expect(text.stdout).toMatch(/epoch 3 \(postpaid, pending until \d{4}-\d\d-\d\dT/)
    expect(text.stdout).toContain(`pending ${settled.revenue} (challenge window, not paid yet)`)
    const status = JSON.parse((await runRma(['status', '--json'], d.env)).stdout)
    expect(status.epochs[2]).toMatchObject({ epoch: 3, state: 'pending' })
    expect(status.totals.pendingRevenue).toBe(settled.revenue)
    const owed = (await settlement.getAsset(assetId)).issuerOwed

    // After the window, the next round (idle: nothing to settle) releases it.
    await d.anvil.increaseTime(7200)
    const idle = await runRma(['settle', '--once', '--json'], d.env)
    expect(json(idle.stdout)).toMatchObject({ ok: true, status: 'idle' })
    expect((await settlement.epochStateOf(assetId, 3)).state).toBe(2n)
    expect((await settlement.getAsset(assetId)).issuerOwed).toBeGreaterThan(owed)
  })
})
