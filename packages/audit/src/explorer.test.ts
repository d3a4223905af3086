import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Address } from '@rma/core'
import type { Wallet } from 'ethers'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { AssetStatus } from './AssetStatus.js'
import { createExplorerHandler } from './createExplorerHandler.js'
import { readAssetStatus } from './readAssetStatus.js'
import { type AuditChain, createAuditChain } from './testing/createAuditChain.js'

const artifacts = join(dirname(fileURLToPath(import.meta.url)), '../../../test/artifacts')

let chain: AuditChain
let server: Server
let url: string
let profile: string
let browser: BrowserContext
/** Per user (lowercase): Σ of its receipts' amounts and its number of calls. */
const spent = new Map<string, { amount: bigint; calls: number }>()

/** The prepaid user's deposit and the amounts of its calls (the prepaid-only asset's epoch 1). */
const prepaidDeposit = 40_000n
const prepaidCalls = [2_500n, 1_234n]

/** Serves the explorer of `c` on 127.0.0.1 (no cache). */
async function startExplorer(c: AuditChain): Promise<{ server: Server; url: string }> {
  const handler = createExplorerHandler({ rpcUrl: c.rpcUrl, contract: c.contract, cacheMs: 0 })
  const s = createServer(handler)
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  return { server: s, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/` }
}

async function stopExplorer(s: Server | undefined): Promise<void> {
  s?.closeAllConnections()
  await new Promise((resolve) => s?.close(resolve))
}

/**
 * A demo chain (postpaid only: the contract fixes one settlement mode per asset): two
 * supporters, three users over three postpaid epochs settled by the real client, claims.
 */
beforeAll(async () => {
  chain = await createAuditChain({ users: 3 })
  const [a, b, c] = chain.users as [Wallet, Wallet, Wallet]
  const [s1, s2] = chain.supporters as [Wallet, Wallet]
  await (await chain.fx.settlement.connect(s1).stake(chain.assetId, 1_000_000n)).wait()
  await (await chain.fx.settlement.connect(s2).stake(chain.assetId, 3_000_000n)).wait()
  for (let epoch = 1; epoch <= 3; epoch++) {
    for (const [user, amount] of [
      [a, 1_200n * BigInt(epoch)],
      [b, 3_333n],
      [c, 20_000n],
      [b, 777n],
    ] as const) {
      const r = await chain.meter(user, amount)
      const key = user.address.toLowerCase()
      const s = spent.get(key) ?? { amount: 0n, calls: 0 }
      spent.set(key, { amount: s.amount + r.receipt.amount, calls: s.calls + 1 })
    }
    await chain.settleHonest()
    if (epoch === 2) await chain.settlement.claimRebates(a.address as Address)
  }
  await (await chain.fx.settlement.connect(s1).claimRewards(chain.assetId)).wait()
  await (await chain.fx.settlement.connect(s2).requestUnstake(chain.assetId, 1_000_000n)).wait()
  ;({ server, url } = await startExplorer(chain))

  await mkdir(artifacts, { recursive: true })
  profile = await mkdtemp(join(tmpdir(), 'rma-chromium-'))
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  })
})

afterAll(async () => {
  await browser?.close()
  await stopExplorer(server)
  await chain?.close()
  if (profile) await rm(profile, { recursive: true, force: true })
})

/** Opens the page, recording console errors, page errors and every request it makes. */
async function open(
  path = '',
  base = url,
): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await browser.newPage()
  const errors: string[] = []
  const requests: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text())
  })
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('request', (r) => requests.push(r.url()))
  await page.goto(base + path)
  await page.locator('#audit-table').waitFor()
  return { page, errors, requests }
}

const cells = (page: Page, selector: string) =>
  page.$$eval(selector, (rows) =>
    rows.map((row) =>
      [...row.querySelectorAll('td, th')].map((c) => c.getAttribute('data-value') ?? c.textContent),
    ),
  )
const grouped = (v: string) => v.replace(/\B(?=(\d{3})+(?!\d))/g, ',')

test('the page loads with no console error, draws what the chain holds, and fetches nothing off its origin', async () => {
  const status: AssetStatus = await readAssetStatus({
    rpcUrl: chain.rpcUrl,
    contract: chain.contract,
    assetId: chain.assetId,
  })
  const { page, errors, requests } = await open()
  await page.screenshot({ path: join(artifacts, 'explorer.png'), fullPage: true })
  expect(errors).toEqual([])
  expect(requests.every((r) => r.startsWith(url) || r.startsWith('data:'))).toBe(true)
  expect(requests.some((r) => r.includes('/api/assets/'))).toBe(true)

  // Revenue per epoch: chart bars and table rows carry the chain's figures.
  expect(await cells(page, '#revenue-table tbody tr')).toEqual(
    status.epochs.map((e) => [
      String(e.epoch),
      e.kind,
      e.revenue,
      String(e.receiptCount),
      expect.any(String),
    ]),
  )
  expect(status.epochs.map((e) => e.kind)).toEqual(['postpaid', 'postpaid', 'postpaid'])
  expect(
    await page.$$eval('#revenue-chart rect', (rs) =>
      rs.map((r) => [r.getAttribute('data-value'), r.getAttribute('data-kind')]),
    ),
  ).toEqual(status.epochs.map((e) => [e.revenue, e.kind]))
  expect(
    await page.locator('#revenue-table tbody tr').first().locator('td').nth(2).textContent(),
  ).toBe(grouped(status.epochs[0]!.revenue))
  // Split by role per epoch, and each role's books.
  expect(await cells(page, '#split-table tbody tr')).toEqual(
    status.epochs.map((e) => [
      String(e.epoch),
      e.kind,
      e.split.issuer,
      e.split.supporters,
      e.split.users,
      e.split.protocol,
    ]),
  )
  expect(
    await page.$$eval('#split-chart rect', (rs) => rs.map((r) => r.getAttribute('data-value'))),
  ).toEqual(
    status.epochs.flatMap((e) => [
      e.split.issuer,
      e.split.supporters,
      e.split.users,
      e.split.protocol,
    ]),
  )
  expect(await cells(page, '#roles-table tbody tr')).toEqual(
    (['issuer', 'supporters', 'users', 'protocol'] as const).map((r) => [
      r,
      status.roles[r].funded,
      status.roles[r].claimed,
      status.roles[r].owed,
    ]),
  )
  // Supporters' stake and realised yield.
  expect(await cells(page, '#supporters-table tbody tr')).toEqual(
    status.stake.supporters.map((s, i) => [
      String(i + 1),
      s.address,
      s.active,
      s.pending,
      s.unbonding,
      s.staked,
      s.rewardsEarned,
      s.rewardsClaimed,
      s.rewardsClaimable,
      String(s.yieldBps),
    ]),
  )
  expect(status.stake.supporters).toHaveLength(2)
  // A postpaid asset: no prepaid user, nothing debited or credited.
  expect(status.prepaid.users).toEqual([])
  expect(await page.locator('#prepaid-table').count()).toBe(0)
  await expect(page.locator('#prepaid').textContent()).resolves.toContain(
    'No prepaid voucher of this asset has settled yet.',
  )
  await expect(page.locator('#prepaid-summary').textContent()).resolves.toBe(
    `All prepaid balances of the payment token: ${grouped(String(await chain.fx.settlement.prepaidTotalOf(chain.fx.tokenAddress)))}. This asset debited 0 and credited 0 of rebates straight back.`,
  )
  // The audit of each epoch, by auditAsset's code.
  expect(await cells(page, '#audit-table tbody tr')).toEqual([
    ['1', 'ok', '0'],
    ['2', 'ok', '0'],
    ['3', 'ok', '0'],
  ])
  await expect(page.locator('#audit-summary').textContent()).resolves.toBe(
    'Every epoch checks out: nothing differs.',
  )

  // Accessible: landmarks, named charts, labelled controls, captioned tables.
  expect(await page.getByRole('banner').count()).toBe(1)
  expect(await page.getByRole('main').count()).toBe(1)
  expect(await page.getByRole('contentinfo').count()).toBe(1)
  expect(await page.getByRole('img', { name: 'Revenue per epoch, base units' }).count()).toBe(1)
  expect(
    await page.getByRole('img', { name: 'Split of each epoch by role, base units' }).count(),
  ).toBe(1)
  expect(await page.getByRole('textbox', { name: /^Address/ }).count()).toBe(1)
  expect(
    await page.$$eval('table', (ts) =>
      ts.every((t) => (t.querySelector('caption')?.textContent ?? '') !== ''),
    ),
  ).toBe(true)
  await page.close()
})

test('the address lookup shows a user its calls, spend, rebates and claimable, and a supporter its stake', async () => {
  const { page, errors } = await open()
  const [a, b] = chain.users as [Wallet, Wallet]
  const lookup = async (address: string) => {
    await page.getByRole('textbox', { name: /^Address/ }).fill(address)
    await page.getByRole('button', { name: 'Look up' }).click()
    await page.locator('#lookup-result h3').waitFor()
    await expect(page.locator('#lookup-result h3').textContent()).resolves.toBe(
      address.toLowerCase(),
    )
  }
  const field = (root: string, name: string) =>
    page.locator(`${root} [data-field="${name}"]`).getAttribute('data-value')

  // User b never claimed: everything committed to it is claimable, and equals what the chain funds it.
  await lookup(b.address)
  const mine = spent.get(b.address.toLowerCase())!
  expect(await field('#account-user', 'calls')).toBe(String(mine.calls))
  expect(await field('#account-user', 'spend')).toBe(String(mine.amount))
  const rebates = await field('#account-user', 'rebates')
  expect(BigInt(rebates!)).toBeGreaterThan(0n)
  expect(await field('#account-user', 'claimable')).toBe(rebates)
  expect(await field('#account-user', 'claimed')).toBe('0')
  const proof = (await chain.settlement.proofFor(b.address as Address))!
  expect(BigInt(proof.total)).toBe(BigInt(rebates!))
  await page.screenshot({ path: join(artifacts, 'explorer-lookup-user.png'), fullPage: true })

  // User a claimed epochs 1 and 2: only epoch 3 is left.
  await lookup(a.address)
  const aProof = (await chain.settlement.proofFor(a.address as Address))!
  expect(aProof.claims.map((c) => c.epoch)).toEqual([3])
  expect(await field('#account-user', 'claimable')).toBe(String(aProof.total))
  expect(await cells(page, '#account-epochs tbody tr')).toEqual([
    ['1', 'postpaid', '1', expect.any(String), expect.any(String), 'yes'],
    ['2', 'postpaid', '1', expect.any(String), expect.any(String), 'yes'],
    ['3', 'postpaid', '1', expect.any(String), String(aProof.claims[0]!.amount), 'no'],
  ])
  expect(await page.locator('#account-prepaid').count()).toBe(0)

  // A supporter: its stake and rewards as the contract reports them.
  const s2 = chain.supporters[1]!
  await lookup(s2.address)
  const [active, unbonding] = await chain.fx.settlement.stakeOf(chain.assetId, s2.address)
  expect(await field('#account-supporter', 'active')).toBe(String(active))
  expect(await field('#account-supporter', 'unbonding')).toBe(String(unbonding))
  expect(await field('#account-supporter', 'rewardsClaimable')).toBe(
    String(await chain.fx.settlement.claimableRewards(chain.assetId, s2.address)),
  )
  await expect(page.locator('#account-roles').textContent()).resolves.toBe('Roles: supporter')
  await page.screenshot({ path: join(artifacts, 'explorer-lookup-supporter.png'), fullPage: true })

  // Not an address: told so, nothing requested.
  await page.getByRole('textbox', { name: /^Address/ }).fill('alice')
  await page.getByRole('button', { name: 'Look up' }).click()
  await expect(page.getByRole('alert').textContent()).resolves.toBe(
    'Enter an address: 0x followed by 40 hex digits.',
  )
  expect(errors).toEqual([])
  await page.close()
})

test('an epoch whose batch file is gone shows as unavailable, with its finding', async () => {
  const epoch3 = (
    await readAssetStatus({
      rpcUrl: chain.rpcUrl,
      contract: chain.contract,
      assetId: chain.assetId,
    })
  ).epochs[2]!
  await rm(join(chain.batchDir, chain.assetId, `${epoch3.batchHash}.json`))
  const { page, errors } = await open()
  expect(await cells(page, '#audit-table tbody tr')).toEqual([
    ['1', 'ok', '0'],
    ['2', 'ok', '0'],
    ['3', 'unavailable', '1'],
  ])
  await expect(page.locator('#audit-summary').textContent()).resolves.toBe('1 discrepancy found.')
  // Nothing overflows the page sideways (a long URI wraps).
  expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(
    true,
  )
  await expect(page.locator('#discrepancies li').first().textContent()).resolves.toContain(
    'batch-missing (epoch 3) Batch file',
  )
  await page.screenshot({ path: join(artifacts, 'explorer-unavailable.png'), fullPage: true })
  // The page reports it; the browser logs no error of its own.
  expect(errors).toEqual([])
  await page.close()
})

test('mounted under a path prefix, and usable from the keyboard', async () => {
  const handler = createExplorerHandler({
    rpcUrl: chain.rpcUrl,
    contract: chain.contract,
    assets: [chain.assetId],
  })
  // What a router does when it mounts the handler at /rma/explorer: strips the prefix.
  const mounted = createServer((req, res) => {
    if (!req.url?.startsWith('/rma/explorer/')) return void res.writeHead(404).end()
    req.url = req.url.slice('/rma/explorer'.length)
    handler(req, res)
  })
  await new Promise<void>((resolve) => mounted.listen(0, '127.0.0.1', resolve))
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text())
  })
  try {
    await page.goto(`http://127.0.0.1:${(mounted.address() as AddressInfo).port}/rma/explorer/`)
    await page.locator('#audit-table').waitFor()
    // The first Tab reaches the skip link; the lookup works with the keyboard alone.
    await page.keyboard.press('Tab')
    await expect(page.evaluate('document.activeElement.textContent')).resolves.toBe(
      'Skip to content',
    )
    await page.getByRole('textbox', { name: /^Address/ }).focus()
    await page.keyboard.type(chain.users[2]!.address)
    await page.keyboard.press('Enter')
    await page.locator('#account-user').waitFor()
    // Epoch 3's file was deleted above: its call is not counted, and the page says so.
    expect(
      await page.locator('#account-user [data-field="calls"]').getAttribute('data-value'),
    ).toBe(String(spent.get(chain.users[2]!.address.toLowerCase())!.calls - 1))
    await expect(page.locator('#account-uncounted').textContent()).resolves.toBe(
      'Not counted: epoch(s) 3, whose batch file cannot be read or does not match the chain.',
    )
    expect(errors).toEqual([])
  } finally {
    await page.close()
    mounted.closeAllConnections()
    await new Promise((resolve) => mounted.close(resolve))
  }
})

test('the JSON endpoints answer errors as JSON', async () => {
  const bad = await fetch(`${url}api/assets/nope/status`)
  expect(bad.status).toBe(400)
  expect(await bad.json()).toEqual({
    error: { message: '"nope" is not an asset id (0x and 64 hex digits).', code: 'invalid_asset' },
  })
  const unknown = await fetch(`${url}api/assets/0x${'42'.repeat(32)}/status`)
  expect(unknown.status).toBe(404)
  expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('unknown_asset')
  const account = await fetch(`${url}api/assets/${chain.assetId}/accounts/0x12`)
  expect(account.status).toBe(400)
  expect((await fetch(`${url}nothing`)).status).toBe(404)
  expect((await fetch(url, { method: 'POST' })).status).toBe(405)
})

test('a hostile settler: markup and script in a batch URI are shown as text, never run', async () => {
  const hostile = `javascript:alert(1)//"><img src=x onerror="alert(2)"><script>alert(3)</script>`
  await chain.postBatch([await chain.sign(chain.users[0]!)], { uri: hostile })
  const page = await browser.newPage()
  const dialogs: string[] = []
  page.on('dialog', (d) => {
    dialogs.push(d.message())
    void d.dismiss()
  })
  await page.goto(url)
  await page.locator('#audit-table').waitFor()
  const row = page.locator('#revenue-table tbody tr').nth(3)
  await expect(row.locator('td').nth(4).textContent()).resolves.toBe(hostile)
  expect(await row.locator('a').count()).toBe(0)
  expect(await page.locator('img').count()).toBe(0)
  expect(await page.locator('body script').count()).toBe(1) // the page's own
  await expect(page.locator('#discrepancies').textContent()).resolves.toContain(hostile)
  expect(dialogs).toEqual([])
  await page.close()
})

/**
 * The contract fixes one settlement mode per asset, so the prepaid pages are checked on their own
 * prepaid-only chain: a user who prepaid, whose acked vouchers the real prepaid settler settles
 * as epoch 1.
 */
describe('a prepaid-only asset', () => {
  let pre: AuditChain
  let preServer: Server
  let preUrl: string

  beforeAll(async () => {
    pre = await createAuditChain({ users: 1 })
    const d = pre.users[0]!
    await pre.deposit(d, prepaidDeposit)
    let last: Awaited<ReturnType<AuditChain['meter']>> | undefined
    for (const amount of prepaidCalls) last = await pre.meter(d, amount)
    await pre.ack(d, last!)
    await pre.settlePrepaidHonest()
    ;({ server: preServer, url: preUrl } = await startExplorer(pre))
  })

  afterAll(async () => {
    await stopExplorer(preServer)
    await pre?.close()
  })

  test('the page draws the prepaid epoch and the prepaid balances the chain holds', async () => {
    const status: AssetStatus = await readAssetStatus({
      rpcUrl: pre.rpcUrl,
      contract: pre.contract,
      assetId: pre.assetId,
    })
    const { page, errors, requests } = await open('', preUrl)
    expect(errors).toEqual([])
    expect(requests.every((r) => r.startsWith(preUrl) || r.startsWith('data:'))).toBe(true)

    expect(status.epochs.map((e) => e.kind)).toEqual(['prepaid'])
    expect(status.epochs[0]!.revenue).toBe(String(prepaidCalls[0]! + prepaidCalls[1]!))
    expect(await cells(page, '#revenue-table tbody tr')).toEqual(
      status.epochs.map((e) => [
        String(e.epoch),
        e.kind,
        e.revenue,
        String(e.receiptCount),
        '1 of 1 voucher(s) applied',
      ]),
    )
    expect(
      await page.$$eval('#revenue-chart rect', (rs) =>
        rs.map((r) => [r.getAttribute('data-value'), r.getAttribute('data-kind')]),
      ),
    ).toEqual(status.epochs.map((e) => [e.revenue, e.kind]))
    expect(await cells(page, '#split-table tbody tr')).toEqual(
      status.epochs.map((e) => [
        String(e.epoch),
        e.kind,
        e.split.issuer,
        e.split.supporters,
        e.split.users,
        e.split.protocol,
      ]),
    )
    // Prepaid balances: the token's total and the asset's prepaid user, as the chain holds them.
    expect(status.prepaid.users).toHaveLength(1)
    expect(await cells(page, '#prepaid-table tbody tr')).toEqual(
      status.prepaid.users.map((u) => [
        u.address,
        u.balance,
        u.debited,
        u.rebateCredited,
        String(u.vouchers),
        u.withdrawalRequested,
      ]),
    )
    await expect(page.locator('#prepaid-summary').textContent()).resolves.toContain(
      grouped(String(await pre.fx.settlement.prepaidTotalOf(pre.fx.tokenAddress))),
    )
    expect(await cells(page, '#audit-table tbody tr')).toEqual([['1', 'ok', '0']])
    await expect(page.locator('#audit-summary').textContent()).resolves.toBe(
      'Every epoch checks out: nothing differs.',
    )
    await page.close()
  })

  test('the address lookup shows the prepaid user its balance, debits and rebates credited', async () => {
    const { page, errors } = await open('', preUrl)
    const lookup = async (address: string) => {
      await page.getByRole('textbox', { name: /^Address/ }).fill(address)
      await page.getByRole('button', { name: 'Look up' }).click()
      await page.locator('#lookup-result h3').waitFor()
      await expect(page.locator('#lookup-result h3').textContent()).resolves.toBe(
        address.toLowerCase(),
      )
    }
    const field = (root: string, name: string) =>
      page.locator(`${root} [data-field="${name}"]`).getAttribute('data-value')

    // The prepaid user: its balance, debits and rebates credited, as the contract holds them.
    const d = pre.users[0]!
    await lookup(d.address)
    const debit = prepaidCalls[0]! + prepaidCalls[1]!
    const credited = (debit * BigInt(pre.fx.shares.usersBps)) / 10_000n
    const [balance] = await pre.fx.settlement.prepaidBalance(pre.fx.tokenAddress, d.address)
    expect(balance).toBe(prepaidDeposit - debit + credited)
    expect(await field('#account-prepaid', 'balance')).toBe(String(balance))
    expect(await field('#account-prepaid', 'debited')).toBe(String(debit))
    expect(await field('#account-prepaid', 'rebateCredited')).toBe(String(credited))
    expect(await field('#account-user', 'calls')).toBe('2')
    expect(await field('#account-user', 'spend')).toBe(String(debit))
    expect(await field('#account-user', 'claimable')).toBe('0')
    expect(await cells(page, '#account-epochs tbody tr')).toEqual([
      ['1', 'prepaid', '2', String(debit), String(credited), 'credited'],
    ])
    await expect(page.locator('#account-roles').textContent()).resolves.toBe('Roles: user')
    await page.screenshot({ path: join(artifacts, 'explorer-lookup-prepaid.png'), fullPage: true })

    expect(errors).toEqual([])
    await page.close()
  })
})
