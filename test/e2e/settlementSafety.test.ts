import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { registerAsset } from '@rma/contracts'
import {
  type Anvil,
  deploySettlementFixture,
  type SettlementFixture,
  startAnvil,
} from '@rma/contracts/testing'
import {
  type Address,
  createDomain,
  createReceiptsTree,
  type Hex,
  type ReceiptStore,
  type RmaDomain,
} from '@rma/core'
import { createSettler, readPayouts, SettlementError, type Settler } from '@rma/settlement'
import { createSqliteStore } from '@rma/store'
import { appendReceipts } from '@rma/store/testing'
import { id, Wallet } from 'ethers'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'

let anvil: Anvil
let fx: SettlementFixture
let dir: string
let store: ReceiptStore
let domain: RmaDomain
const user = Wallet.createRandom().address as Address

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rma-settle-safety-'))
  anvil = await startAnvil()
  fx = await deploySettlementFixture(anvil, {
    shares: { issuerBps: 5000, supportersBps: 3000, usersBps: 1500, protocolBps: 500 },
  })
  await (await fx.settlement.connect(fx.others[0]!).stake(fx.assetId, 5_000_000n)).wait()
  store = createSqliteStore({ path: join(dir, 'receipts.db') })
  domain = createDomain({ chainId: 31337, verifyingContract: fx.settlementAddress as Address })
}, 120_000)

afterEach(async () => {
  await store?.close()
  await anvil?.stop()
  await rm(dir, { recursive: true, force: true })
})

function settlerOf(options: Partial<Parameters<typeof createSettler>[0]> = {}): Settler {
  return createSettler({
    store,
    signer: fx.settler,
    contract: fx.settlementAddress as Address,
    assetId: fx.assetId as Hex,
    batchDir: join(dir, 'batches'),
    batchBaseUri: 'https://batches.example/rma',
    ...options,
  })
}

const meter = () => fx.meter as unknown as Wallet
const append = (count: number, signer: Wallet = meter(), amount = 1_000n) =>
  appendReceipts(store, { domain, assetId: fx.assetId as Hex, meter: signer, user, count, amount })

async function settledEvents() {
  const logs = await fx.settlement.queryFilter(fx.settlement.filters.Settled!(fx.assetId))
  return logs.map((l) => {
    const args = (
      l as unknown as { args: { epoch: bigint; receiptCount: bigint; receiptsRoot: string } }
    ).args
    return {
      epoch: Number(args.epoch),
      receiptCount: Number(args.receiptCount),
      receiptsRoot: args.receiptsRoot.toLowerCase(),
    }
  })
}

/** Every epoch the chain settled holds exactly the receipts the store assigned to it. */
async function expectStoreMatchesChain() {
  for (const event of await settledEvents()) {
    const assigned = await store.listBatchReceipts({
      assetId: fx.assetId as Hex,
      epoch: event.epoch,
    })
    expect(assigned).toHaveLength(event.receiptCount)
    expect(createReceiptsTree(assigned.map((r) => r.hash)).root).toBe(event.receiptsRoot)
  }
}

describe('I1: one standing allowance', () => {
  test('three batches cost one approve in all, sent with the first', async () => {
    await (await fx.token.connect(fx.settler).approve(fx.settlementAddress, 0n)).wait()
    const settler = settlerOf()
    const approveGas: bigint[] = []
    for (let round = 0; round < 3; round++) {
      await append(2 + round)
      const result = await settler.settleOnce()
      if (result.status !== 'settled') throw new Error('not settled')
      approveGas.push(result.approveGasUsed)
    }
    expect(approveGas[0]).toBeGreaterThan(0n)
    expect(approveGas.slice(1)).toEqual([0n, 0n])
    const approvals = await fx.token.queryFilter(
      fx.token.filters.Approval!(fx.settler.address, fx.settlementAddress),
    )
    // The one in the fixture (reset to 0 above) and the settler's one.
    expect(
      approvals.map((a) => (a as unknown as { args: { value: bigint } }).args.value > 0n),
    ).toEqual([true, false, true])
    expect((await settledEvents()).map((e) => e.receiptCount)).toEqual([2, 3, 4])
  })
})

describe('L5: a settle dropped by a reorg after its confirmations', () => {
  test('is sent again, and its receipts end up settled in exactly that epoch', async () => {
    const settler = settlerOf()
    await append(3)
    expect(await settler.settleOnce()).toMatchObject({ status: 'settled', epoch: 1 })
    const beforeEpoch2 = (await anvil.provider.send('evm_snapshot', [])) as string
    const epoch2 = await append(4)
    expect(await settler.settleOnce()).toMatchObject({
      status: 'settled',
      epoch: 2,
      recovered: false,
    })
    expect((await store.getBatch(fx.assetId as Hex, 2))?.status).toBe('confirmed')

    // The blocks holding epoch 2's settle are dropped: the chain is back at epoch 1 while the
    // store says epoch 2 is confirmed.
    await anvil.provider.send('evm_revert', [beforeEpoch2])
    expect((await fx.settlement.getAsset(fx.assetId)).epoch).toBe(1n)
    expect(await settledEvents()).toHaveLength(1)

    const resent = await settler.settleOnce()
    expect(resent).toMatchObject({ status: 'settled', epoch: 2, receiptCount: 4, recovered: true })
    expect((await fx.settlement.getAsset(fx.assetId)).epoch).toBe(2n)
    const assigned = await store.listBatchReceipts({ assetId: fx.assetId as Hex, epoch: 2 })
    expect(assigned.map((r) => r.hash)).toEqual(epoch2.map((r) => r.hash))
    await expectStoreMatchesChain()

    // And the loop goes on.
    await append(2)
    expect(await settler.settleOnce()).toMatchObject({
      status: 'settled',
      epoch: 3,
      receiptCount: 2,
    })
    await expectStoreMatchesChain()
  })
})

describe('L7: a batch the settler cannot pay', () => {
  test('is refused with the decoded reason, records nothing, sends nothing, and settles with the later receipts once paid', async () => {
    const settler = settlerOf({ refusalBackoff: { baseMs: 300, maxMs: 300 } })
    const balance = await fx.token.balanceOf(fx.settler.address)
    await (await fx.token.connect(fx.settler).transfer(fx.others[1]!.address, balance)).wait()
    await append(3, meter(), 171n)
    const nonce = await anvil.provider.getTransactionCount(fx.settler.address)

    const refused = await settler.settleOnce().catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(SettlementError)
    expect(refused).toMatchObject({
      code: 'SETTLE_REFUSED',
      shortMessage: 'settle(epoch 1) was refused: the settler holds 0 of 513 needed.',
      revert: { name: 'ERC20InsufficientBalance', reason: 'the settler holds 0 of 513 needed' },
    })
    // Asked again at once: the same report, without building, recording or sending.
    await expect(settler.settleOnce()).rejects.toBe(refused)
    expect(await store.latestBatch(fx.assetId as Hex)).toBeUndefined()
    expect(await anvil.provider.getTransactionCount(fx.settler.address)).toBe(nonce)
    expect(await store.listUnsettled({ assetId: fx.assetId as Hex })).toHaveLength(3)

    // Paid for, and metered on meanwhile: the next round after the delay takes everything.
    await (await fx.token.connect(fx.others[1]!).transfer(fx.settler.address, balance)).wait()
    await append(2, meter(), 171n)
    await new Promise((resolve) => setTimeout(resolve, 350))
    expect(await settler.settleOnce()).toMatchObject({
      status: 'settled',
      epoch: 1,
      receiptCount: 5,
      revenue: 855n,
    })
    await expectStoreMatchesChain()
  })

  test("receipts of a meter the contract does not trust never take the batch's slots", async () => {
    // An untrusted key whose receipts the store lists first (it orders by meter address).
    let rogue = Wallet.createRandom() as unknown as Wallet
    while (rogue.address.toLowerCase() > fx.meter.address.toLowerCase())
      rogue = Wallet.createRandom() as unknown as Wallet
    await append(6, rogue)
    const good = await append(4)
    const settler = settlerOf({ maxReceipts: 3 })
    const errors: Error[] = []
    settler.events.on('error', (e) => errors.push(e))
    expect(await settler.settleOnce()).toMatchObject({
      status: 'settled',
      epoch: 1,
      receiptCount: 3,
    })
    expect(await settler.settleOnce()).toMatchObject({
      status: 'settled',
      epoch: 2,
      receiptCount: 1,
    })
    expect(await settler.settleOnce()).toEqual({ status: 'idle', unsettled: 0 })
    const settled = [
      ...(await store.listBatchReceipts({ assetId: fx.assetId as Hex, epoch: 1 })),
      ...(await store.listBatchReceipts({ assetId: fx.assetId as Hex, epoch: 2 })),
    ]
    expect(settled.map((r) => r.hash)).toEqual(good.map((r) => r.hash))
    // The rogue receipts stay unsettled, reported, never settled.
    const unsettled = await store.listUnsettled({ assetId: fx.assetId as Hex })
    expect(unsettled).toHaveLength(6)
    expect(
      unsettled.every((r) => r.receipt.meter.toLowerCase() === rogue.address.toLowerCase()),
    ).toBe(true)
    expect(errors.map((e) => (e as SettlementError).code)).toContain('INVALID_RECEIPTS')
    await expectStoreMatchesChain()
  })
})

describe('I2: payouts of two assets in one token', () => {
  test("each asset's figures are its own: funded, claimed and claimable per role, protocol included", async () => {
    const shares = { issuerBps: 6000, supportersBps: 2000, usersBps: 1000, protocolBps: 1000 }
    const second = await registerAsset(fx.settlement.connect(fx.issuer), {
      salt: id('rma:second-asset'),
      token: fx.tokenAddress,
      settler: fx.settler.address,
      ...shares,
      unbondingDelay: 7 * 24 * 3600,
      meters: [fx.meter.address],
    })
    const secondId = second.assetId as Hex
    await append(3, meter(), 1_000n)
    await appendReceipts(store, {
      domain,
      assetId: secondId,
      meter: meter(),
      user,
      count: 5,
      amount: 777n,
    })
    await settlerOf().settleOnce()
    await settlerOf({ assetId: secondId }).settleOnce()
    await settlerOf({ assetId: secondId })
      .settleOnce()
      .catch(() => undefined)
    await (await fx.settlement.connect(fx.owner).claimProtocol(fx.assetId)).wait()

    const first = await readPayouts(fx.settlement, fx.assetId as Hex)
    const other = await readPayouts(fx.settlement, secondId)
    // No challenge window, no fraud: nothing pending, no bond, nothing slashed, one meter each.
    const noPending = {
      batches: 0,
      epochs: [],
      revenue: 0n,
      issuer: 0n,
      supporters: 0n,
      users: 0n,
      protocol: 0n,
      nextReleasableAt: null,
    }
    const noRisk = { bond: 0n, frozen: false, totalSlashed: 0n, meters: 1, supporters: [] }
    // Asset 1: 3,000 at 50/30/15/5; asset 2: 3,885 at 60/20/10/10 (the issuer takes the dust).
    expect(first).toEqual({
      epoch: 1,
      issuer: { funded: 1_500n, claimed: 0n, claimable: 1_500n },
      supporters: { funded: 900n, claimed: 0n, claimable: 900n },
      users: { funded: 450n, claimed: 0n, claimable: 450n },
      protocol: { funded: 150n, claimed: 150n, claimable: 0n },
      pending: noPending,
      risk: noRisk,
    })
    expect(other).toEqual({
      epoch: 1,
      issuer: { funded: 2_332n, claimed: 0n, claimable: 2_332n },
      supporters: { funded: 777n, claimed: 0n, claimable: 777n },
      users: { funded: 388n, claimed: 0n, claimable: 388n },
      protocol: { funded: 388n, claimed: 0n, claimable: 388n },
      pending: noPending,
      risk: noRisk,
    })
  })
})
