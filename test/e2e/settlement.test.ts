import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Anvil,
  deploySettlementFixture,
  type SettlementFixture,
  startAnvil,
} from '@rma/contracts/testing'
import {
  type Address,
  allocateProRata,
  createDomain,
  decodeReceipt,
  type Hex,
  hashBytes,
  splitRevenue,
} from '@rma/core'
import {
  attest,
  createFakeUpstream,
  createMeteredApp,
  type FakeUpstream,
  type MeteredApp,
} from '@rma/express/testing'
import {
  batchFilePath,
  createBatchFileHandler,
  createSettlementClient,
  proofIndexPath,
  readBatchFile,
  type SettlementClient,
} from '@rma/settlement'
import { createSqliteStore } from '@rma/store'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, expect, test } from 'vitest'

const shares = { issuerBps: 5000, supportersBps: 3000, usersBps: 1500, protocolBps: 500 }

let anvil: Anvil
let fx: SettlementFixture
let upstream: FakeUpstream
let app: MeteredApp
let settlement: SettlementClient
let dir: string
let batchServer: Server
let batchBaseUri: string
let users: Wallet[]
let supporters: Wallet[]
const stakes = [1_000_000n, 3_000_000n]

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rma-settle-'))
  anvil = await startAnvil()
  fx = await deploySettlementFixture(anvil, { shares })
  upstream = await createFakeUpstream()
  const store = createSqliteStore({ path: join(dir, 'receipts.db') })
  const handler = createBatchFileHandler({ batchDir: join(dir, 'batches') })
  batchServer = createServer((req, res) => void handler(req, res))
  await new Promise<void>((resolve) => batchServer.listen(0, '127.0.0.1', resolve))
  batchBaseUri = `http://127.0.0.1:${(batchServer.address() as AddressInfo).port}/`
  settlement = createSettlementClient({
    store,
    signer: fx.settler,
    contract: fx.settlementAddress as Address,
    assetId: fx.assetId as Hex,
    batchDir: join(dir, 'batches'),
    batchBaseUri,
  })
  app = await createMeteredApp({
    store,
    upstream,
    meterKey: fx.meter.privateKey,
    meter: {
      assetId: fx.assetId as Hex,
      chainId: 31337,
      settlementContract: fx.settlementAddress as Address,
    },
    router: { proofs: (user) => settlement.proofFor(user) },
  })
  supporters = fx.others.slice(0, 2)
  users = [
    Wallet.createRandom(),
    Wallet.createRandom(),
    Wallet.createRandom(),
  ] as unknown as Wallet[]
  for (const [i, supporter] of supporters.entries())
    await (await fx.settlement.connect(supporter).stake(fx.assetId, stakes[i]!)).wait()
}, 120_000)

afterAll(async () => {
  await new Promise((resolve) => batchServer?.close(resolve))
  await app?.close()
  await upstream?.close()
  await anvil?.stop()
  await rm(dir, { recursive: true, force: true })
})

async function call(user: Wallet, n: number, stream: boolean): Promise<bigint> {
  const body = JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: `q${n}` }],
    stream,
  })
  const header = await attest(user, body, {
    assetId: fx.assetId as Hex,
    chainId: 31337,
    settlementContract: fx.settlementAddress as Address,
  })
  const res = await fetch(`${app.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'rma-attestation': header, 'rma-receipt': 'inline' },
    body,
  })
  expect(res.status).toBe(200)
  const text = await res.text()
  const encoded = stream
    ? JSON.parse(text.split('event: rma.receipt\ndata: ')[1]!).receipt
    : res.headers.get('rma-receipt')
  return decodeReceipt(encoded).amount
}

test('three epochs metered through @rma/express, settled on anvil, every role paid its exact split', async () => {
  const domain = createDomain({
    chainId: 31337,
    verifyingContract: fx.settlementAddress as Address,
  })
  const expected = { issuer: 0n, supporters: 0n, users: 0n, protocol: 0n }
  /** Per user: each epoch's rebate, from that epoch's spend only. */
  const rebates = new Map<string, Map<number, bigint>>()
  for (let epoch = 1; epoch <= 3; epoch++) {
    const spend = new Map<string, bigint>()
    for (let n = 0; n < 4 + epoch; n++) {
      const user = users[(n + epoch) % users.length]!
      const amount = await call(user, epoch * 100 + n, n % 2 === 1)
      const key = user.address.toLowerCase()
      spend.set(key, (spend.get(key) ?? 0n) + amount)
    }
    const result = await settlement.settleOnce()
    expect(result).toMatchObject({
      status: 'settled',
      epoch,
      receiptCount: 4 + epoch,
      recovered: false,
    })
    if (result.status !== 'settled') throw new Error('not settled')
    const revenue = [...spend.values()].reduce((a, b) => a + b, 0n)
    expect(result.revenue).toBe(revenue)
    const split = splitRevenue(revenue, shares)
    for (const role of ['issuer', 'supporters', 'users', 'protocol'] as const)
      expected[role] += split[role]
    const ordered = [...spend.keys()].sort()
    allocateProRata(
      split.users,
      ordered.map((u) => spend.get(u)!),
    ).forEach((part, i) => {
      const perEpoch = rebates.get(ordered[i]!) ?? new Map<number, bigint>()
      if (part > 0n) perEpoch.set(epoch, part)
      rebates.set(ordered[i]!, perEpoch)
    })

    // The batch file matches what the chain committed to.
    const [event] = await fx.settlement.queryFilter(
      fx.settlement.filters.Settled!(fx.assetId, epoch),
    )
    const args = (
      event as unknown as {
        args: { receiptsRoot: string; rebateRoot: string; batchHash: string; batchUri: string }
      }
    ).args
    const file = await readBatchFile(
      batchFilePath(join(dir, 'batches'), fx.assetId as Hex, args.batchHash as Hex),
      {
        domain,
        receiptsRoot: args.receiptsRoot as Hex,
        rebateRoot: args.rebateRoot as Hex,
        batchHash: args.batchHash as Hex,
      },
    )
    expect(file.receiptCount).toBe(4 + epoch)
    // This epoch's rebates only, summing to at most this epoch's users' share.
    expect(file.rebates.reduce((sum, r) => sum + BigInt(r.amount), 0n)).toBeLessThanOrEqual(
      split.users,
    )
    // The URI on chain is the content-addressed file, served over HTTP with the same bytes.
    expect(args.batchUri).toBe(
      `${batchBaseUri}${(fx.assetId as string).toLowerCase()}/${args.batchHash.toLowerCase()}.json`,
    )
    const served = await fetch(args.batchUri)
    expect(served.status).toBe(200)
    expect(hashBytes(new Uint8Array(await served.arrayBuffer()))).toBe(args.batchHash.toLowerCase())

    // User 0 claims after epoch 1, before the next settles: a later root never undoes it.
    if (epoch === 1) {
      const early = await settlement.claimRebates(users[0]!.address as Address)
      expect(early.epochs).toEqual([1])
      expect(early.amount).toBe(rebates.get(users[0]!.address.toLowerCase())?.get(1))
      rebates.get(users[0]!.address.toLowerCase())?.delete(1)
    }
  }
  expect(await settlement.settleOnce()).toEqual({ status: 'idle', unsettled: 0 })

  // Funded per role, read back from the chain, equals the exact split of every epoch.
  const payouts = await settlement.payouts()
  expect(payouts.epoch).toBe(3)
  expect(payouts.issuer.funded).toBe(expected.issuer)
  expect(payouts.supporters.funded).toBe(expected.supporters)
  expect(payouts.users.funded).toBe(expected.users)
  expect(payouts.protocol.claimable).toBe(expected.protocol)

  // Users: the proof route lists every epoch with an unclaimed rebate; one claim takes them all.
  for (const user of users) {
    const want = rebates.get(user.address.toLowerCase()) ?? new Map<number, bigint>()
    const served = (await (await fetch(`${app.url}/rma/proofs/${user.address}`)).json()) as {
      total: string
      claims: { epoch: number; amount: string; proof: string[] }[]
    }
    expect(served.claims.map((c) => [c.epoch, BigInt(c.amount)])).toEqual([...want.entries()])
    const total = [...want.values()].reduce((a, b) => a + b, 0n)
    expect(BigInt(served.total)).toBe(total)
    const before = await fx.token.balanceOf(user.address)
    const { amount, epochs } = await settlement.claimRebates(user.address as Address)
    expect(epochs).toEqual([...want.keys()])
    expect(amount).toBe(total)
    expect((await fx.token.balanceOf(user.address)) - before).toBe(total)
  }
  await expect(settlement.claimRebates(users[0]!.address as Address)).rejects.toMatchObject({
    code: 'NOTHING_TO_CLAIM',
  })
  expect((await fetch(`${app.url}/rma/proofs/${users[0]!.address}`)).status).toBe(404)

  // Supporters: stake placed before epoch 1 activates at its settle and earns from epoch 2;
  // epoch 1's share is held, then released to them (the stake covers it): pro rata to stake,
  // within the accumulator's rounding.
  const totalStake = stakes[0]! + stakes[1]!
  let paidToSupporters = 0n
  for (const [i, supporter] of supporters.entries()) {
    const want = (expected.supporters * stakes[i]!) / totalStake
    const claimable = await fx.settlement.claimableRewards(fx.assetId, supporter.address)
    expect(want - claimable).toBeGreaterThanOrEqual(0n)
    expect(want - claimable).toBeLessThan(2n)
    const before = await fx.token.balanceOf(supporter.address)
    await settlement.claimRewards(supporter)
    expect((await fx.token.balanceOf(supporter.address)) - before).toBe(claimable)
    paidToSupporters += claimable
  }
  expect(paidToSupporters).toBeGreaterThan(0n)

  // Issuer and protocol.
  const issuerBefore = await fx.token.balanceOf(fx.issuer.address)
  await settlement.claimIssuer()
  expect((await fx.token.balanceOf(fx.issuer.address)) - issuerBefore).toBe(expected.issuer)
  const ownerBefore = await fx.token.balanceOf(fx.owner.address)
  await (await fx.settlement.connect(fx.owner).claimProtocol(fx.assetId)).wait()
  expect((await fx.token.balanceOf(fx.owner.address)) - ownerBefore).toBe(expected.protocol)

  // Everything funded is paid or still owed (supporters keep only their rounding dust).
  const after = await settlement.payouts()
  expect(after.issuer.claimable).toBe(0n)
  expect(after.users.claimed).toBe(expected.users)
  expect(after.supporters.funded).toBe(expected.supporters)
  expect(after.supporters.claimed).toBe(paidToSupporters)
  expect(after.supporters.claimable).toBeLessThan(3n)
})

test('the proof route answers JSON, never a stack trace, when a proof index is missing', async () => {
  const batch = await fx.settlement.queryFilter(fx.settlement.filters.Settled!(fx.assetId, 2))
  const batchHash = (batch[0] as unknown as { args: { batchHash: Hex } }).args.batchHash
  await rm(proofIndexPath(join(dir, 'batches'), fx.assetId as Hex, batchHash))
  // A fresh prover (nothing cached) over the same store and directory.
  const fresh = createSettlementClient({
    store: app.store,
    signer: fx.settler,
    contract: fx.settlementAddress as Address,
    assetId: fx.assetId as Hex,
    batchDir: join(dir, 'batches'),
    batchBaseUri,
  })
  const error = await fresh.proofFor(users[1]!.address as Address).catch((e: unknown) => e)
  expect(error).toMatchObject({ code: 'PROOF_INDEX' })
  const other = await createMeteredApp({
    store: app.store,
    upstream,
    meterKey: fx.meter.privateKey,
    meter: {
      assetId: fx.assetId as Hex,
      chainId: 31337,
      settlementContract: fx.settlementAddress as Address,
    },
    router: { proofs: (user) => fresh.proofFor(user) },
  })
  try {
    const res = await fetch(`${other.url}/rma/proofs/${users[1]!.address}`)
    expect(res.status).toBe(503)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual({
      error: {
        message:
          'Rebate proofs are unavailable right now: The proof index of epoch 2 cannot be read.',
        type: 'server_error',
        code: 'rma_proofs_unavailable',
        param: null,
      },
    })
  } finally {
    await other.close()
  }
})
