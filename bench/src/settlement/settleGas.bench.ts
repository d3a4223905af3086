import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deploySettlementFixture, startAnvil } from '@rma/contracts/testing'
import {
  type Address,
  createDomain,
  type Hex,
  hashReceipt,
  type ReceiptStore,
  type RmaDomain,
  signReceipt,
  zeroHash,
} from '@rma/core'
import { createSettler } from '@rma/settlement'
import { createMemoryStore } from '@rma/store'
import { keccak256, toUtf8Bytes, Wallet } from 'ethers'
import { defineBench } from '../lib/defineBench.js'
import { figure } from '../lib/figure.js'

/**
 * Gas of settling through `@rma/settlement` as a settler pays it: every transaction the
 * client sends for a batch (the `settle`, the `deposit` top-up when the settler's deposit
 * cannot pay the batch, and the `approve` when its standing allowance is short), from real
 * receipts on a local anvil node, with the client's defaults (`depositBatches` 24: a top-up
 * covers 24 batches of the current size). The settler starts with no allowance and no deposit,
 * so the first batch carries the one `approve` and the first top-up.
 *
 * - Steady state: 2 × 24 batches of 100 receipts after the warm-up, every transaction summed
 *   and divided by the batches: the honest average per settle (two top-ups in it).
 * - Flat in the batch size: batches of 100, 10,000 and 100,000 receipts, signed by a meter key
 *   and stored as a meter stores them (the receipts stay off chain behind their root); each
 *   figure is its settle plus 1/24 of a top-up at its size, the share it pays of the top-up.
 * - Labelled apart: the settle that releases a supporters' share held while stake was pending
 *   (epoch 2), a top-up, and the same batches paid by `transferFrom` (`depositBatches: 0`).
 * - With a challenge window (1 hour, a second asset): 2 × 24 batches of 100 receipts, the
 *   window passing between batches, so each round first sends the `release` of the previous
 *   batch (measured apart) and then a settle that leaves its batch pending; and batches settled
 *   while the previous one is still in its window (the settle reads the oldest pending record).
 */
export default defineBench(async ({ log }) => {
  const depositBatches = 24
  const anvil = await startAnvil()
  const dir = await mkdtemp(join(tmpdir(), 'rma-settle-gas-'))
  const store = createMemoryStore()
  try {
    const fx = await deploySettlementFixture(anvil)
    // Stake far above a batch's supporters' share (at most 6.9e7 here), as on a backed asset.
    await (await fx.settlement.connect(fx.others[0]!).stake(fx.assetId, 10n ** 12n)).wait()
    // The client, not the fixture, decides how the settler approves.
    await (await fx.token.connect(fx.settler).approve(fx.settlementAddress, 0n)).wait()
    const domain = createDomain({
      chainId: 31337,
      verifyingContract: fx.settlementAddress as Address,
    })
    const settlerWith = (options: { depositBatches: number }) =>
      createSettler({
        store,
        signer: fx.settler,
        contract: fx.settlementAddress as Address,
        assetId: fx.assetId as Hex,
        batchDir: dir,
        batchBaseUri: 'https://batches.example/rma',
        ...options,
      })
    const settler = settlerWith({ depositBatches })
    type Batch = { receipts: number; settle: bigint; approve: bigint; deposit: bigint }
    const batch = async (size: number, client = settler): Promise<Batch> => {
      await meterReceipts(store, {
        domain,
        assetId: fx.assetId as Hex,
        meter: fx.meter as unknown as Wallet,
        count: size,
        users: Math.min(size, 100),
      })
      const result = await client.settleOnce()
      if (result.status !== 'settled' || result.receiptCount !== size)
        throw new Error(`The batch of ${size} receipts did not settle whole.`)
      log(
        `epoch ${result.epoch}: ${size} receipts, settle ${result.gasUsed}, top-up ${result.depositGasUsed}, approve ${result.approveGasUsed} gas`,
      )
      return {
        receipts: size,
        settle: result.gasUsed,
        approve: result.approveGasUsed,
        deposit: result.depositGasUsed,
      }
    }
    const total = (b: Batch) => b.settle + b.approve + b.deposit

    // Warm-up: the first settle (approve, first top-up, stake activates) and the one that
    // releases the share held meanwhile.
    const first = await batch(100)
    const release = await batch(100)
    // Steady state: two whole top-up cycles of equal batches.
    const steady: Batch[] = []
    for (let i = 0; i < 2 * depositBatches; i++) steady.push(await batch(100))
    const steadyTotal = steady.reduce((t, b) => t + total(b), 0n)
    const topUps = steady.filter((b) => b.deposit > 0n)
    const topUp = topUps[0]?.deposit ?? 0n
    // Flat in the batch size: each size pays 1/24 of the top-up that covers it.
    const sized: Batch[] = []
    for (const size of [100, 10_000, 100_000]) sized.push(await batch(size))
    // The same batches pulled with transferFrom: the deposit withdrawn, depositBatches 0.
    const left = await fx.settlement.depositOf(fx.assetId, fx.settler.address)
    if (left > 0n)
      await (await fx.settlement.connect(fx.settler).withdrawDeposit(fx.assetId, left)).wait()
    const puller = settlerWith({ depositBatches: 0 })
    const pulled = [await batch(100, puller), await batch(100, puller)]
    const all = [first, release, ...steady, ...sized, ...pulled]

    // A challenge window: a fresh fixture (its own asset and contract) on the same node.
    const window = 3600
    const wfx = await deploySettlementFixture(anvil, {
      challengeWindow: window,
      salt: keccak256(toUtf8Bytes('rma:windowed-asset')),
    })
    // Its own store: receipts are hashed under the other contract's domain.
    const wstore = createMemoryStore()
    await (await wfx.settlement.connect(wfx.others[0]!).stake(wfx.assetId, 10n ** 12n)).wait()
    await (await wfx.token.connect(wfx.settler).approve(wfx.settlementAddress, 0n)).wait()
    const wdomain = createDomain({
      chainId: 31337,
      verifyingContract: wfx.settlementAddress as Address,
    })
    const wsettler = createSettler({
      store: wstore,
      signer: wfx.settler,
      contract: wfx.settlementAddress as Address,
      assetId: wfx.assetId as Hex,
      batchDir: dir,
      batchBaseUri: 'https://batches.example/rma',
      depositBatches,
    })
    const releases: bigint[] = []
    wsettler.events.on('batch:released', (e) => releases.push(e.gasUsed))
    const wbatch = async (): Promise<Batch> => {
      await meterReceipts(wstore, {
        domain: wdomain,
        assetId: wfx.assetId as Hex,
        meter: wfx.meter as unknown as Wallet,
        count: 100,
        users: 100,
      })
      const result = await wsettler.settleOnce()
      if (result.status !== 'settled') throw new Error('The windowed batch did not settle.')
      return {
        receipts: 100,
        settle: result.gasUsed,
        approve: result.approveGasUsed,
        deposit: result.depositGasUsed,
      }
    }
    // Warm-up as above (first settle, held share), the window passing after each.
    for (let i = 0; i < 2; i++) {
      await wbatch()
      await anvil.increaseTime(window)
    }
    const wsteady: Batch[] = []
    for (let i = 0; i < 2 * depositBatches; i++) {
      wsteady.push(await wbatch())
      await anvil.increaseTime(window)
    }
    const wsteadyTotal = wsteady.reduce((t, b) => t + total(b), 0n)
    const steadyReleases = releases.slice(-2 * depositBatches)
    // Batches settled while the previous one is still in its window.
    await wbatch()
    const overlapping = [await wbatch(), await wbatch()]
    await wstore.close()

    const gas = (
      name: string,
      value: bigint,
      target: number | null,
      detail: Record<string, unknown>,
    ) =>
      figure({
        name,
        value: Number(value),
        unit: 'gas',
        baseline: null,
        better: 'lower',
        target,
        detail,
      })
    return [
      gas(
        'settle through the client, steady-state average per batch incl. top-ups and any approve',
        steadyTotal / BigInt(steady.length),
        80_000,
        {
          batches: steady.length,
          settleGas: [...new Set(steady.map((b) => Number(b.settle)))],
          topUps: topUps.length,
          topUpGas: topUps.map((b) => Number(b.deposit)),
          approves: steady.filter((b) => b.approve > 0n).length,
          depositBatches,
          anchor: 'before: transferFrom per batch ~97k (~123k with an approve per batch)',
        },
      ),
      ...sized.map((b) =>
        gas(
          `settle through the client, gas per batch incl. its share of a top-up and any approve, ${b.receipts.toLocaleString('en-US')} receipts`,
          b.settle + b.approve + topUp / BigInt(depositBatches),
          80_000,
          {
            settle: Number(b.settle),
            topUpShare: Number(topUp / BigInt(depositBatches)),
            topUpSentBeforeThisBatch: Number(b.deposit),
            approve: Number(b.approve),
          },
        ),
      ),
      gas(
        'settle with a 1-hour challenge window through the client, steady-state average per batch incl. top-ups (the batch pends)',
        wsteadyTotal / BigInt(wsteady.length),
        80_000,
        {
          batches: wsteady.length,
          settleGas: [...new Set(wsteady.map((b) => Number(b.settle)))],
          topUps: wsteady.filter((b) => b.deposit > 0n).length,
          windowZeroAverage: Number(steadyTotal / BigInt(steady.length)),
          note: 'the previous batch was released by the client just before (figure below)',
        },
      ),
      gas(
        'release of one due batch (sent by the client before its next settle)',
        steadyReleases.reduce((t, g) => t + g, 0n) / BigInt(Math.max(steadyReleases.length, 1)),
        null,
        { releases: steadyReleases.length, releaseGas: [...new Set(steadyReleases.map(Number))] },
      ),
      gas(
        'settle with a window while the previous batch is still pending (not due), through the client, incl. its share of a top-up',
        overlapping.reduce((t, b) => t + b.settle, 0n) / BigInt(overlapping.length) +
          topUp / BigInt(depositBatches),
        80_000,
        {
          settleGas: overlapping.map((b) => Number(b.settle)),
          topUpShare: Number(topUp / BigInt(depositBatches)),
          note: 'settling more often than the window: the oldest pending batch’s due time is kept in the asset’s status slot (headDue), so a settle before it reads no record',
        },
      ),
      gas('deposit top-up gas (once per 24 batches by default)', topUp, null, {
        note: 'deposit(assetId, amount): a measured pull under the standing allowance',
      }),
      gas(
        'settle releasing a supporters’ share held while stake was pending (epoch 2)',
        total(release),
        null,
        {
          settle: Number(release.settle),
          note: 'the held amount is rewritten; steady state has stake above each batch’s share',
        },
      ),
      gas(
        'settle through the client, first batch incl. its approve and first top-up',
        total(first),
        null,
        {
          settle: Number(first.settle),
          approve: Number(first.approve),
          deposit: Number(first.deposit),
        },
      ),
      gas(
        'settle through the client without a deposit (depositBatches: 0, transferFrom)',
        total(pulled[1]!),
        null,
        { settle: Number(pulled[1]!.settle), approve: Number(pulled[1]!.approve) },
      ),
      gas(
        'approve gas per batch over the run',
        all.reduce((t, b) => t + b.approve, 0n) / BigInt(all.length),
        null,
        { batches: all.length, approves: all.filter((b) => b.approve > 0n).length },
      ),
    ]
  } finally {
    await store.close()
    await anvil.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

/** `count` receipts over `users` chains, signed by the meter and appended as the meter does. */
async function meterReceipts(
  store: ReceiptStore,
  p: { domain: RmaDomain; assetId: Hex; meter: Wallet; count: number; users: number },
) {
  const users = Array.from({ length: p.users }, () => Wallet.createRandom().address as Address)
  const pending: Promise<unknown>[] = []
  for (let i = 0; i < p.count; i++) {
    const user = users[i % users.length]!
    pending.push(
      store.append({
        assetId: p.assetId,
        meter: p.meter.address as Address,
        user,
        id: randomUUID(),
        async sign(head) {
          const receipt = await signReceipt({
            signer: p.meter,
            domain: p.domain,
            receipt: {
              assetId: p.assetId,
              meter: p.meter.address as Address,
              user,
              seq: head.seq + 1,
              prev: head.hash,
              requestHash: `0x${'11'.repeat(32)}`,
              responseHash: `0x${'22'.repeat(32)}`,
              model: 'gpt-4o-mini',
              inputTokens: 1_000,
              cachedInputTokens: 0,
              outputTokens: 200,
              reasoningTokens: 0,
              usageSource: 'reported',
              amount: 2_750n,
              cumulativeAmount: head.cumulativeAmount + 2_750n,
              cacheWriteTokens: 0,
              priceTable: zeroHash,
              attestation: zeroHash,
              timestamp: 1_700_000_000,
            },
          })
          return { receipt, hash: hashReceipt(receipt, p.domain) }
        },
      }),
    )
    if (pending.length >= 256) await Promise.all(pending.splice(0))
  }
  await Promise.all(pending)
}
