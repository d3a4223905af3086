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
} from '@rma/core'
import { createSettler } from '@rma/settlement'
import { createMemoryStore } from '@rma/store'
import { Wallet } from 'ethers'
import { defineBench } from '../lib/defineBench.js'
import { figure } from '../lib/figure.js'

/**
 * Gas of settling through `@rma/settlement` as a settler pays it: every transaction the
 * client sends for a batch (the `settle`, and the `approve` when its standing allowance is
 * short), from real receipts on a local anvil node. The settler starts with no allowance, so
 * the first batch carries the one `approve` and every later batch is steady state. Batches of
 * 100, 10,000 and 100,000 receipts, signed by a meter key and stored as a meter stores them:
 * the receipts stay off chain behind their root, so the cost is flat in the batch size.
 */
export default defineBench(async ({ log }) => {
  const sizes = [100, 100, 10_000, 100_000]
  const anvil = await startAnvil()
  const dir = await mkdtemp(join(tmpdir(), 'rma-settle-gas-'))
  const store = createMemoryStore()
  try {
    const fx = await deploySettlementFixture(anvil)
    await (await fx.settlement.connect(fx.others[0]!).stake(fx.assetId, 10n ** 12n)).wait()
    // The client, not the fixture, decides how the settler approves.
    await (await fx.token.connect(fx.settler).approve(fx.settlementAddress, 0n)).wait()
    const domain = createDomain({
      chainId: 31337,
      verifyingContract: fx.settlementAddress as Address,
    })
    const settler = createSettler({
      store,
      signer: fx.settler,
      contract: fx.settlementAddress as Address,
      assetId: fx.assetId as Hex,
      batchDir: dir,
      batchBaseUri: 'https://batches.example/rma',
    })
    const batches: { receipts: number; settle: bigint; approve: bigint }[] = []
    for (const size of sizes) {
      await meterReceipts(store, {
        domain,
        assetId: fx.assetId as Hex,
        meter: fx.meter as unknown as Wallet,
        count: size,
        users: Math.min(size, 100),
      })
      const result = await settler.settleOnce()
      if (result.status !== 'settled' || result.receiptCount !== size)
        throw new Error(`The batch of ${size} receipts did not settle whole.`)
      batches.push({ receipts: size, settle: result.gasUsed, approve: result.approveGasUsed })
      log(
        `epoch ${result.epoch}: ${size} receipts, settle ${result.gasUsed} gas, approve ${result.approveGasUsed} gas`,
      )
    }
    const steady = batches.slice(1)
    const first = batches[0]!
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
      ...steady.map((b) =>
        gas(
          `settle through the client, gas per batch incl. any approve, ${b.receipts.toLocaleString('en-US')} receipts`,
          b.settle + b.approve,
          80_000,
          {
            settle: Number(b.settle),
            approve: Number(b.approve),
            epoch: 'steady state (>= 2)',
            anchor: 'before: settle ~78k + an approve of ~46k per batch (~123k)',
          },
        ),
      ),
      gas(
        'settle through the client, first batch incl. its one approve',
        first.settle + first.approve,
        null,
        {
          settle: Number(first.settle),
          approve: Number(first.approve),
          note: 'a standing allowance: approved once, when short; never again while it lasts',
        },
      ),
      gas(
        'approve gas per batch over the run',
        batches.reduce((t, b) => t + b.approve, 0n) / BigInt(batches.length),
        null,
        { batches: batches.length, approves: batches.filter((b) => b.approve > 0n).length },
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
