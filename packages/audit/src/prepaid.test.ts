import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseSettlementError } from '@rma/contracts'
import { type Hex, splitRevenue } from '@rma/core'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest'
import { auditAsset } from './auditAsset.js'
import { checkPrepaid } from './checkPrepaid.js'
import { createMeterHistory } from './createMeterHistory.js'
import { AuditError } from './errors.js'
import { openSettlement } from './openSettlement.js'
import { readAssetStatus } from './readAssetStatus.js'
import { readPrepaidBatch } from './readPrepaidBatch.js'
import { type AuditChain, createAuditChain, type TestReceipt } from './testing/createAuditChain.js'

// Odd shares, so that the split and every rebate round.
const shares = { issuerBps: 5999, supportersBps: 2501, usersBps: 1333, protocolBps: 167 }
const rebateOf = (debit: bigint) => (debit * BigInt(shares.usersBps)) / 10_000n

let chain: AuditChain
let restore: () => Promise<void>
let a: Wallet
let b: Wallet
let c: Wallet
/** A user that never deposited: its voucher is skipped for its balance. */
const d = new Wallet(Wallet.createRandom().privateKey)
const held: Record<'b' | 'c', TestReceipt[]> = { b: [], c: [] }
/** a's first receipt (seq 1), never acked. */
let aFirst: TestReceipt
/** Per epoch 2..4: each user's debit, as the receipts it acked add up. */
const debits: Map<string, bigint>[] = []

/**
 * Epoch 1 an empty prepaid settlement (it fixes the asset's mode: prepaid; a's receipt of 1,000
 * stays unacked); epochs 2 and 3 prepaid by the real
 * prepaid settler from the users' acks; epoch 4 prepaid by hand with two vouchers the contract
 * skips (a user with no balance, a replay) beside an honest one.
 */
beforeAll(async () => {
  chain = await createAuditChain({ shares })
  ;[a, b, c] = chain.users as [Wallet, Wallet, Wallet]
  await (
    await chain.fx.settlement.connect(chain.supporters[0]!).stake(chain.assetId, 1_000_000n)
  ).wait()
  aFirst = await chain.meter(a, 1_000n)
  await chain.postVouchers([])
  // The stake activates at epoch 1's settle, so the prepaid epochs pay the supporters.
  await chain.deposit(b, 50_000n)
  await chain.deposit(c, 20_000n)

  held.b.push(await chain.meter(b, 2_345n), await chain.meter(b, 777n))
  held.c.push(await chain.meter(c, 10_001n))
  await chain.ack(b, held.b[1]!)
  await chain.ack(c, held.c[0]!)
  await chain.settlePrepaidHonest()
  debits.push(
    new Map([
      [lower(b), 3_122n],
      [lower(c), 10_001n],
    ]),
  )

  held.b.push(await chain.meter(b, 5_000n))
  held.c.push(await chain.meter(c, 3n))
  await chain.ack(b, held.b[2]!)
  const oldB = await chain.ack(b, held.b[1]!, {}, { store: false })
  await chain.settlePrepaidHonest()
  debits.push(new Map([[lower(b), 5_000n]]))

  const dReceipt = await chain.meter(d, 400n)
  await chain.postVouchers([
    await chain.ack(c, held.c[1]!, {}, { store: false }),
    await chain.ack(d, dReceipt, {}, { store: false }),
    oldB,
  ])
  debits.push(new Map([[lower(c), 3n]]))
  restore = await chain.checkpoint()
}, 120_000)

beforeEach(async () => {
  await restore()
})

afterAll(async () => {
  await chain?.close()
})

const params = () => ({ rpcUrl: chain.rpcUrl, contract: chain.contract, assetId: chain.assetId })
const lower = (w: { address: string }) => w.address.toLowerCase()
const sum = (xs: Iterable<bigint>) => [...xs].reduce((x, y) => x + y, 0n)

test('status: prepaid epochs listed with their kind, revenue, split, receipts and vouchers; balances, debits and rebates per user', async () => {
  const status = await readAssetStatus(params())
  expect(JSON.parse(JSON.stringify(status))).toEqual(status)
  expect(status.asset.epoch).toBe(4)
  expect(status.epochs.map((e) => [e.epoch, e.kind])).toEqual([
    [1, 'prepaid'],
    [2, 'prepaid'],
    [3, 'prepaid'],
    [4, 'prepaid'],
  ])
  expect(status.epochs[0]).toMatchObject({ revenue: '0', receiptCount: 0 })
  const prepaid = status.epochs.slice(1)
  expect(prepaid.map((e) => e.receiptCount)).toEqual([3, 1, 1])
  expect(prepaid.map((e) => e.vouchers)).toEqual([
    { submitted: 2, settled: 2 },
    { submitted: 1, settled: 1 },
    { submitted: 3, settled: 1 },
  ])
  for (const [i, e] of prepaid.entries()) {
    const revenue = sum(debits[i]!.values())
    const rebates = sum([...debits[i]!.values()].map(rebateOf))
    const split = splitRevenue(revenue, shares)
    expect(e.revenue).toBe(revenue.toString())
    expect(e.batchUri).toBeNull()
    expect(e.split).toEqual({
      // The users' share rounds down per voucher; the remainder joins the issuer's.
      issuer: (split.issuer + split.users - rebates).toString(),
      supporters: split.supporters.toString(),
      users: rebates.toString(),
      protocol: split.protocol.toString(),
    })
    expect(e.rebatesClaimed).toBe(rebates.toString())
  }
  expect(status.totals.revenue).toBe(sum(status.epochs.map((e) => BigInt(e.revenue))).toString())
  expect(status.totals.receiptCount).toBe(0 + 3 + 1 + 1)

  const settlement = chain.fx.settlement
  const token = chain.fx.tokenAddress
  expect(status.prepaid.total).toBe(String(await settlement.prepaidTotalOf(token)))
  const perUser = (u: Wallet) => debits.map((m) => m.get(lower(u)) ?? 0n)
  const expected = await Promise.all(
    [b, c].map(async (u) => {
      const balance = await settlement.prepaidBalance(token, u.address)
      return {
        address: lower(u),
        balance: String(balance.balance),
        withdrawalRequested: '0',
        withdrawableAt: 0,
        debited: String(sum(perUser(u))),
        rebateCredited: String(sum(perUser(u).map(rebateOf))),
        vouchers: perUser(u).filter((x) => x > 0n).length,
      }
    }),
  )
  expect(status.prepaid.users).toEqual(expected.sort((x, y) => (x.address < y.address ? -1 : 1)))
  // Each balance is what was deposited, less the debits, plus the rebates credited.
  for (const [u, deposited] of [
    [b, 50_000n],
    [c, 20_000n],
  ] as const) {
    const row = status.prepaid.users.find((x) => x.address === lower(u))!
    expect(BigInt(row.balance)).toBe(deposited - BigInt(row.debited) + BigInt(row.rebateCredited))
  }
  expect(status.prepaid.users.some((x) => x.address === lower(d))).toBe(false)
  // Role totals: the prepaid rebates are funded and paid at once, never owed.
  const view = await settlement.getAsset(chain.assetId)
  expect(BigInt(status.roles.users.funded)).toBe(
    view.rebatesFunded + BigInt(status.prepaid.rebateCredited),
  )
  expect(status.roles.users.owed).toBe(String(view.rebatesFunded - view.rebatesClaimed))
  expect(BigInt(status.roles.issuer.funded)).toBe(
    sum(status.epochs.map((e) => BigInt(e.split.issuer))),
  )
})

test('audit: the honest prepaid run passes, skipped vouchers included, with and without the users ledgers', async () => {
  const report = await auditAsset(params())
  expect(report.discrepancies).toEqual([])
  expect(report).toEqual({
    ok: true,
    epochs: [1, 2, 3, 4].map((epoch) => ({ epoch, status: 'ok' })),
    discrepancies: [],
  })
  for (const u of ['b', 'c'] as const)
    expect(await auditAsset({ ...params(), ledger: chain.ledgerOf(held[u]) })).toMatchObject({
      ok: true,
      discrepancies: [],
    })
})

test('a voucher the user signed above its receipt is settled by the contract; the audit with its ledger flags the overcharge', async () => {
  // c's key signs a cumulative 900 above its receipt (a client that acks without checking, or
  // a key shared with another wallet): the contract takes the signature as the user's word.
  const r = await chain.meter(c, 100n)
  const before = (await chain.fx.settlement.prepaidBalance(chain.fx.tokenAddress, c.address))
    .balance
  await chain.postVouchers([
    await chain.ack(
      c,
      r,
      { cumulativeAmount: r.receipt.cumulativeAmount + 900n },
      { store: false },
    ),
  ])
  const after = (await chain.fx.settlement.prepaidBalance(chain.fx.tokenAddress, c.address)).balance
  expect(before - after).toBe(1_000n - rebateOf(1_000n))

  // From public data alone the voucher is consistent: its user signed it.
  expect((await auditAsset(params())).ok).toBe(true)
  const report = await auditAsset({ ...params(), ledger: chain.ledgerOf([...held.c, r]) })
  expect(report.ok).toBe(false)
  expect(report.discrepancies).toEqual([
    {
      kind: 'overcharge',
      epoch: 5,
      accounts: [lower(c), lower(chain.fx.meter)],
      detail: expect.stringContaining(`cumulative ${r.receipt.cumulativeAmount + 900n}`),
    },
  ])
  expect(report.epochs.find((e) => e.epoch === 5)?.status).toBe('discrepancy')
  // Another user's ledger does not see it.
  expect((await auditAsset({ ...params(), ledger: chain.ledgerOf(held.b) })).ok).toBe(true)
})

test('attack: a postpaid batch of a prepaid asset, then a voucher for the running total (a double charge across modes): the contract refuses the batch, the user pays once', async () => {
  // The settler settles a's seq 1 (1,000) postpaid, paying it in, then would submit a's voucher
  // for its chain's running total (1,500, seq 1 included) and debit seq 1 a second time. The
  // asset's first settlement fixed it prepaid: the batch reverts and moves nothing.
  await chain.deposit(a, 10_000n)
  const settlement = chain.fx.settlement
  const token = chain.fx.tokenAddress
  const before = {
    balance: (await settlement.prepaidBalance(token, a.address)).balance,
    settler: await chain.fx.token.balanceOf(chain.fx.settler.address),
    epoch: (await settlement.getAsset(chain.assetId)).epoch,
  }
  const refused = await chain.postBatch([aFirst]).then(
    () => null,
    (e: unknown) => e,
  )
  expect(parseSettlementError(refused)).toMatchObject({
    name: 'SettlementModeMismatch',
    args: [2n],
    message: expect.stringContaining('settled in prepaid mode'),
  })
  expect(await settlement.settlementModeOf(chain.assetId)).toBe(2n)
  expect({
    balance: (await settlement.prepaidBalance(token, a.address)).balance,
    settler: await chain.fx.token.balanceOf(chain.fx.settler.address),
    epoch: (await settlement.getAsset(chain.assetId)).epoch,
  }).toEqual(before)
  // a's voucher for the running total pays seq 1 and seq 2 once, in this one mode.
  const r = await chain.meter(a, 500n)
  expect(r.receipt.seq).toBe(2)
  await chain.postVouchers([await chain.ack(a, r, {}, { store: false })])
  expect((await settlement.prepaidBalance(token, a.address)).balance).toBe(
    before.balance - 1_500n + rebateOf(1_500n),
  )
  const report = await auditAsset(params())
  expect(report.discrepancies.filter((x) => x.kind === 'duplicate-receipt')).toEqual([])
})

test('a voucher whose meter was revoked before settlement is skipped; status and audit agree with the chain', async () => {
  const r = await chain.meter(c, 250n)
  const voucher = await chain.ack(c, r, {}, { store: false })
  await (
    await chain.fx.settlement
      .connect(chain.fx.issuer)
      .setMeter(chain.assetId, chain.fx.meter.address, false)
  ).wait()
  const receipt = await chain.postVouchers([voucher])
  const skipped = receipt.logs
    .map((l) => chain.fx.settlement.interface.parseLog(l))
    .filter((l) => l?.name === 'VoucherSkipped')
  expect(skipped.map((l) => Number(l!.args.reason))).toEqual([0]) // MeterNotAuthorised
  const status = await readAssetStatus(params())
  expect(status.epochs.at(-1)).toMatchObject({
    epoch: 5,
    kind: 'prepaid',
    revenue: '0',
    receiptCount: 0,
    vouchers: { submitted: 1, settled: 0 },
  })
  expect(await auditAsset({ ...params(), ledger: chain.ledgerOf([...held.c, r]) })).toMatchObject({
    ok: true,
    discrepancies: [],
  })
})

test('the prepaid checks fail on what the contract would never emit: a debit off its cumulative increase, a forged signature, a lowered chain, a short revenue', async () => {
  const reader = await openSettlement(params())
  const events = await reader.events()
  // Epoch 1's empty settlement left out: the tampering below starts at epoch 2.
  const batches = (
    await Promise.all(
      events.filter((e) => e.name === 'PrepaidSettled').map((e) => readPrepaidBatch(reader, e)),
    )
  ).slice(1)
  const context = {
    domain: chain.domain,
    assetId: chain.assetId as Hex,
    meters: await createMeterHistory(events, reader.blockTimestamp),
    usersBps: BigInt(shares.usersBps),
    settlers: new Map<number, string>(),
  }
  expect(checkPrepaid(batches, context)).toEqual([])
  const kinds = (bs: typeof batches) => checkPrepaid(bs, context).map((x) => x.kind)

  const clone = (x: (typeof batches)[number]) => ({
    ...x,
    outcomes: x.outcomes.map((y) => ({ ...y })),
    vouchers: x.vouchers?.map((y) => ({ ...y })) ?? null,
  })
  // Epoch 2's first voucher reported as debiting 10,000 more than its cumulative rose.
  const [first, ...rest] = batches
  const more = clone(first!)
  const o = more.outcomes[0]!
  if (o.settled) o.debit += 10_000n
  expect(kinds([more, ...rest])).toEqual([
    'revenue-mismatch',
    'rebate-mismatch',
    'voucher-mismatch',
  ])

  // A voucher whose signature is not its user's.
  const forged = clone(first!)
  forged.vouchers![1]!.r = `0x${'12'.repeat(32)}`
  const found = checkPrepaid([forged, ...rest], context)
  expect(found.map((x) => [x.kind, x.epoch, x.accounts])).toEqual([
    ['voucher-signature', 2, [forged.vouchers![1]!.user, forged.vouchers![1]!.meter]],
  ])

  // Epoch 3's voucher of b claimed at epoch 2's seq: not newer than its chain.
  const lowered = clone(batches[1]!)
  lowered.vouchers![0]!.seq = 2
  expect(kinds([first!, lowered, batches[2]!])).toEqual(['voucher-signature', 'voucher-mismatch'])

  // The calldata unreadable (a multicall): reported, not passed silently.
  const hidden = clone(batches[2]!)
  hidden.vouchers = null
  expect(kinds([first!, batches[1]!, hidden])).toEqual(['voucher-mismatch'])
  // An unreadable first settlement leaves its users' chains unknown: one finding, none after it.
  const early = clone(first!)
  early.vouchers = null
  expect(checkPrepaid([early, ...rest], context).map((x) => [x.kind, x.epoch])).toEqual([
    ['voucher-mismatch', 2],
  ])
})

test("a node that does not serve a prepaid settlement's transaction: RPC_ERROR naming the fix, not false findings", async () => {
  // Forwards to anvil, but answers null for transactions (a pruned node).
  const forward = async (req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    for await (const chunk of req) body += chunk
    const call = JSON.parse(body) as { id: number; method: string }
    if (call.method === 'eth_getTransactionByHash')
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id: call.id, result: null }))
    const upstream = await fetch(chain.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    res
      .writeHead(upstream.status, { 'content-type': 'application/json' })
      .end(await upstream.text())
  }
  // A request cut short when the proxy closes is dropped, not left as an unhandled rejection.
  const proxy = createServer((req, res) => void forward(req, res).catch(() => res.destroy()))
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  try {
    const rpcUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
    for (const run of [readAssetStatus, auditAsset]) {
      const error = await run({ ...params(), rpcUrl }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AuditError)
      expect((error as AuditError).code).toBe('RPC_ERROR')
      expect((error as AuditError).shortMessage).toContain('archive or full node')
    }
  } finally {
    proxy.closeAllConnections()
    await new Promise((resolve) => proxy.close(resolve))
  }
})
