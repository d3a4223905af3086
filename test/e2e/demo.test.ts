import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { roleNames, runDemo } from '@rma/example-demo'
import { expect, test } from 'vitest'

const demoMain = fileURLToPath(new URL('../../examples/demo/src/main.ts', import.meta.url))

function startDemo(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', demoMain, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, exited, output: () => ({ stdout, stderr }) }
}

async function unreachable(url: string): Promise<boolean> {
  return fetch(url, { method: 'POST', signal: AbortSignal.timeout(2_000) }).then(
    () => false,
    () => true,
  )
}

test('the demo, in process, prepaid (the default): users pay from their balances, rebates credited, the provider pays in nothing', async () => {
  const lines: string[] = []
  const result = await runDemo({ users: 3, epochs: 2, log: (line) => lines.push(line) })
  const { chain, facts } = result

  expect(result.mode).toBe('prepaid')
  expect(result.checks.filter((c) => !c.ok)).toEqual([])
  expect(result.ok).toBe(true)
  expect(chain.settlements.map((s) => [s.epoch, s.kind])).toEqual([
    [1, 'prepaid'],
    [2, 'prepaid'],
  ])
  expect(facts.calls).toBe(12)
  expect(chain.settlements.reduce((t, s) => t + s.receiptCount, 0)).toBe(facts.calls)
  for (const s of chain.settlements)
    expect(s.parts.issuer + s.parts.supporters + s.parts.users + s.parts.protocol).toBe(s.revenue)

  // The provider paid nothing in; each user's debit is exactly what it acked and spent.
  expect(chain.prepaid.providerPaidIn).toBe(0n)
  const spent = (address: string) =>
    facts.spend.reduce((t, e) => t + (e.get(address.toLowerCase()) ?? 0n), 0n)
  for (const u of chain.prepaid.users) {
    expect(u.debited).toBe(u.acked)
    expect(u.debited).toBe(spent(u.address))
    expect(u.debited).toBeGreaterThan(0n)
    expect(u.rebateCredited).toBeGreaterThan(0n)
    expect(u.balance).toBe(u.deposited - u.debited + u.rebateCredited - u.withdrawn)
  }
  // The users' share went to their balances: Σ credited = Σ usersAmount of the settlements.
  expect(chain.prepaid.users.reduce((t, u) => t + u.rebateCredited, 0n)).toBe(
    chain.fundedByEvents.users,
  )
  // User 1 left after the withdrawal delay with everything it had.
  const [leaver] = chain.prepaid.users
  expect(leaver!.balance).toBe(0n)
  expect(leaver!.withdrawn).toBe(leaver!.deposited - leaver!.debited + leaver!.rebateCredited)
  expect(chain.users[0]!.received).toBe(leaver!.withdrawn - leaver!.deposited)
  // Issuer and protocol claimed exactly their parts; supporters all but rounding dust.
  expect(chain.claimed.issuer).toBe(chain.funded.issuer)
  expect(chain.claimed.protocol).toBe(chain.funded.protocol)
  const dust = chain.funded.supporters - chain.claimed.supporters
  expect(dust >= 0n && dust < 2n).toBe(true)
  // A prepaid round pays nothing in, so the settler holds no deposit either.
  expect(chain.deposits).toBe(0n)
  expect(chain.contractBalance).toBe(
    chain.totalStake + chain.totalUnbonding + chain.prepaid.total + dust,
  )
  expect(lines.some((l) => l.includes('user 1 withdrew'))).toBe(true)
})

test('the demo, in process, postpaid: every role paid its exact split, read back from the chain', async () => {
  const lines: string[] = []
  const result = await runDemo({
    users: 3,
    epochs: 2,
    mode: 'postpaid',
    log: (line) => lines.push(line),
  })
  const { chain, facts } = result

  expect(result.checks.filter((c) => !c.ok)).toEqual([])
  expect(result.ok).toBe(true)
  expect(chain.settlements.map((s) => s.epoch)).toEqual([1, 2])
  expect(facts.calls).toBe(12)
  expect(facts.streamingCalls).toBeGreaterThan(0)
  expect(chain.settlements.reduce((t, s) => t + s.receiptCount, 0)).toBe(facts.calls)

  // The parts sum exactly to the revenue, per epoch and in total, and the counters agree.
  for (const s of chain.settlements)
    expect(s.parts.issuer + s.parts.supporters + s.parts.users + s.parts.protocol).toBe(s.revenue)
  const funded = roleNames.reduce((t, role) => t + chain.funded[role], 0n)
  expect(funded).toBe(chain.revenue)
  expect(chain.revenue).toBeGreaterThan(0n)
  for (const role of roleNames) {
    expect(chain.funded[role]).toBe(chain.fundedByEvents[role])
    expect(chain.claimed[role]).toBe(chain.claimedByEvents[role])
    expect(chain.received[role]).toBe(chain.claimed[role])
  }

  // Every role claimed exactly its funded amount, except the supporters' rounding dust.
  expect(chain.claimed.issuer).toBe(chain.funded.issuer)
  expect(chain.claimed.users).toBe(chain.funded.users)
  expect(chain.claimed.protocol).toBe(chain.funded.protocol)
  const dust = chain.funded.supporters - chain.claimed.supporters
  expect(dust).toBeGreaterThanOrEqual(0n)
  expect(dust).toBeLessThan(2n)
  // The settler's deposit prepays coming batches (the settlement client's default).
  expect(chain.deposits).toBeGreaterThan(0n)
  expect(chain.contractBalance).toBe(
    chain.totalStake + chain.totalUnbonding + dust + chain.deposits,
  )

  // Supporters: the larger stake earned three times as much (to the unit, before flooring).
  const [small, large] = chain.supporters
  expect(large!.staked).toBe(3n * small!.staked)
  expect(large!.claimed - 3n * small!.claimed).toBeLessThanOrEqual(3n)
  expect(large!.withdrawn).toBe(large!.staked)
  expect(small!.active).toBe(small!.staked)

  // Every user was paid a rebate into its own wallet.
  for (const user of chain.users) {
    expect(user.claimed).toBeGreaterThan(0n)
    expect(user.received).toBe(user.claimed)
  }
  expect(lines.some((l) => l.includes('STAND-IN'))).toBe(true)
})

test('pnpm demo -- --json: one JSON object on stdout, sums matching the chain', async () => {
  const demo = startDemo(['--', '--json'])
  const code = await demo.exited
  const { stdout, stderr } = demo.output()
  expect(code, stderr).toBe(0)
  expect(stdout.trim().split('\n')).toHaveLength(1)
  const report = JSON.parse(stdout) as {
    ok: boolean
    calls: number
    receipts: number
    revenue: string
    roles: Record<string, string>
    claimed: Record<string, string>
    epochs: number
    gasPerSettle: number
    checks: { ok: boolean }[]
    mode: string
    risk: { bond: string; frozen: boolean; totalSlashed: string }
    supporters: {
      staked: string
      withdrawn: string
      atRisk: string
      slashed: string
      rewards: { claimed: string; claimable: string }
    }[]
    prepaid: {
      providerPaidIn: string
      users: {
        address: string
        deposited: string
        debited: string
        acked: string
        rebateCredited: string
        balance: string
      }[]
    }
  }
  expect(report).toMatchObject({ ok: true, mode: 'prepaid', calls: 12, receipts: 12, epochs: 2 })
  // The prepaid object, read back from the chain: strings of base units.
  expect(report.prepaid.providerPaidIn).toBe('0')
  expect(report.prepaid.users).toHaveLength(3)
  for (const u of report.prepaid.users) {
    expect(u.address).toMatch(/^0x[0-9a-fA-F]{40}$/)
    for (const value of [u.deposited, u.debited, u.acked, u.rebateCredited, u.balance])
      expect(value).toMatch(/^\d+$/)
    expect(u.debited).toBe(u.acked)
    // 15% of each epoch's voucher, floored per voucher: at most 1 below 15% of the total per epoch.
    const short = (BigInt(u.debited) * 1500n) / 10_000n - BigInt(u.rebateCredited)
    expect(short >= 0n && short < 2n).toBe(true)
  }
  const debited = report.prepaid.users.reduce((t, u) => t + BigInt(u.debited), 0n)
  expect(debited).toBe(BigInt(report.revenue))
  expect(report.prepaid.users[0]!.balance).toBe('0')
  for (const value of [report.revenue, ...Object.values(report.roles)])
    expect(value).toMatch(/^\d+$/)
  const sum = roleNames.reduce((t, role) => t + BigInt(report.roles[role]!), 0n)
  expect(sum).toBe(BigInt(report.revenue))
  for (const role of ['issuer', 'users', 'protocol'])
    expect(report.claimed[role]).toBe(report.roles[role])
  const dust = BigInt(report.roles.supporters!) - BigInt(report.claimed.supporters!)
  expect(dust >= 0n && dust < 2n).toBe(true)
  expect(report.gasPerSettle).toBeGreaterThan(0)
  // Risk and yield: no fraud, so no bond taken and nothing slashed; what is still staked is at
  // risk in full, and the supporters' claimed rewards are the supporters' claimed share.
  expect(report.risk).toEqual({ bond: '0', frozen: false, totalSlashed: '0' })
  expect(report.supporters).toHaveLength(2)
  for (const s of report.supporters) {
    expect(s.slashed).toBe('0')
    expect(BigInt(s.atRisk)).toBe(BigInt(s.staked) - BigInt(s.withdrawn))
  }
  expect(report.supporters.reduce((t, s) => t + BigInt(s.rewards.claimed), 0n)).toBe(
    BigInt(report.claimed.supporters!),
  )
  expect(report.checks.every((c) => c.ok)).toBe(true)
  // Progress went to stderr.
  expect(stderr).toContain('epoch 2 settled')
})

test('Ctrl-C stops the chain and the servers the demo started', async () => {
  const demo = startDemo([])
  const urls = await new Promise<{ anvil: string; provider: string; model: string }>(
    (resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the demo did not reach epoch 1')), 60_000)
      demo.child.stdout.on('data', () => {
        const { stdout } = demo.output()
        const anvil = /anvil at (\S+)/.exec(stdout)?.[1]
        const provider = /listening on (\S+)/.exec(stdout)?.[1]
        const model = /STAND-IN model "[^"]+" at (\S+)/.exec(stdout)?.[1]
        if (anvil && provider && model && stdout.includes('▸ epoch 1')) {
          clearTimeout(timer)
          resolve({ anvil, provider, model })
        }
      })
    },
  )
  demo.child.kill('SIGINT')
  expect(await demo.exited).toBe(130)
  expect(demo.output().stderr).toContain('SIGINT: stopping everything')
  expect(await unreachable(urls.anvil)).toBe(true)
  expect(await unreachable(`${urls.provider}/chat/completions`)).toBe(true)
  expect(await unreachable(`${urls.model}/chat/completions`)).toBe(true)
})
