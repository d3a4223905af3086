import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deploySettlementFixture, startAnvil } from '@rma/contracts/testing'
import { type Address, createDomain, createReceiptsTree, type Hex } from '@rma/core'
import { createSettler } from '@rma/settlement'
import { createPostgresStore } from '@rma/store'
import { appendReceipts } from '@rma/store/testing'
import { Wallet } from 'ethers'
import pg from 'pg'
import { expect, test } from 'vitest'
import { runFixture } from '../fixtures/runProcess.js'

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test'

test('M3: two settlement processes racing on one PostgreSQL store for several rounds: every receipt the chain settled is assigned to exactly the epoch that settled it, none skipped', async () => {
  const schema = `rma_settle_race_${randomBytes(4).toString('hex')}`
  const dir = await mkdtemp(join(tmpdir(), 'rma-settle-race-'))
  const anvil = await startAnvil()
  const store = createPostgresStore({ connectionString: PG_URL, schema })
  try {
    const fx = await deploySettlementFixture(anvil)
    await (await fx.settlement.connect(fx.others[0]!).stake(fx.assetId, 5_000_000n)).wait()
    const assetId = fx.assetId as Hex
    const domain = createDomain({
      chainId: 31337,
      verifyingContract: fx.settlementAddress as Address,
    })
    const users = [0, 1, 2].map(() => Wallet.createRandom().address as Address)
    const meter = fx.meter as unknown as Wallet
    const appendRound = async (n: number) => {
      for (const [i, user] of users.entries())
        await appendReceipts(store, { domain, assetId, meter, user, count: 1 + ((n + i) % 3) })
    }
    await appendRound(0)

    const env = {
      RPC_URL: anvil.url,
      SETTLER_KEY: fx.settler.privateKey,
      CONTRACT: fx.settlementAddress,
      ASSET_ID: fx.assetId,
      PG_URL,
      PG_SCHEMA: schema,
      BATCH_DIR: join(dir, 'batches'),
      ROUNDS: '12',
      // Both start their rounds at once, after their startup.
      START_AT: String(Date.now() + 6_000),
    }
    // Both settlers race while the meter keeps appending, until both are done.
    let done = false
    const racing = Promise.all([
      runFixture('settleRaceProcess.ts', env),
      runFixture('settleRaceProcess.ts', env),
    ]).finally(() => {
      done = true
    })
    for (let n = 1; !done; n++) {
      await appendRound(n)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const runs = await racing
    for (const run of runs) expect(run.code, run.stderr).toBe(0)
    const lines = runs.flatMap((r) =>
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    )
    expect(lines.filter((l) => l.status === 'settled').length).toBeGreaterThan(0)

    // Drain what is left with a third settler, then compare the store with the chain.
    const last = createSettler({
      store,
      signer: fx.settler,
      contract: fx.settlementAddress as Address,
      assetId,
      batchDir: join(dir, 'batches'),
      batchBaseUri: 'https://batches.example/rma',
    })
    for (let i = 0; i < 3; i++) await last.settleOnce()
    expect(await last.settleOnce()).toEqual({ status: 'idle', unsettled: 0 })

    const events = (
      await fx.settlement.queryFilter(fx.settlement.filters.Settled!(fx.assetId))
    ).map(
      (l) =>
        (l as unknown as { args: { epoch: bigint; receiptCount: bigint; receiptsRoot: string } })
          .args,
    )
    const chainEpoch = Number((await fx.settlement.getAsset(fx.assetId)).epoch)
    expect(events.map((e) => Number(e.epoch))).toEqual(
      Array.from({ length: chainEpoch }, (_, i) => i + 1),
    )
    let settledCount = 0
    for (const event of events) {
      const assigned = await store.listBatchReceipts({ assetId, epoch: Number(event.epoch) })
      expect(assigned).toHaveLength(Number(event.receiptCount))
      expect(createReceiptsTree(assigned.map((r) => r.hash)).root).toBe(
        event.receiptsRoot.toLowerCase(),
      )
      settledCount += assigned.length
    }
    // Every receipt metered is in exactly one settled epoch: none skipped, none in an epoch the
    // chain did not settle.
    const stored = (
      await Promise.all(users.map((user) => store.listByUser({ user, limit: 10_000 })))
    ).flat()
    expect(stored.length).toBe(settledCount)
    expect(stored.every((r) => r.epoch !== null && r.epoch >= 1 && r.epoch <= chainEpoch)).toBe(
      true,
    )
  } finally {
    await store.close()
    await anvil.stop()
    await rm(dir, { recursive: true, force: true })
    const client = new pg.Client({ connectionString: PG_URL })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await client.end()
  }
})
