import { randomBytes } from 'node:crypto'
import { deploySettlementFixture, startAnvil } from '@rma/contracts/testing'
import type { Address, Hex } from '@rma/core'
import {
  attestWith,
  createFakeUpstream,
  createMeteredApp,
  type MeteredApp,
} from '@rma/express/testing'
import { createPostgresStore } from '@rma/store'
import type { Wallet } from 'ethers'
import pg from 'pg'
import { compareThroughput } from '../lib/compareThroughput.js'
import { defineBench } from '../lib/defineBench.js'
import { ratioFigure } from '../lib/ratioFigure.js'

const connectionString =
  process.env.RMA_BENCH_POSTGRES_URL ??
  process.env.RMA_TEST_POSTGRES_URL ??
  'postgres://postgres@127.0.0.1:5432/test'
/** Calls in flight at once, each by its own user (each user's reservations are serialised). */
const concurrency = 16

/**
 * What prepaid coverage costs a metered call: attested chat completions per second through a
 * meter in prepaid mode (the user's chains listed, its balance and settled vouchers read from
 * anvil at most every 2 s, the call reserved in one PostgreSQL transaction under the user's
 * lock, released once its receipt is stored) over the same calls through a postpaid meter with
 * the same key, store, upstream and users, in interleaved rounds. Informational (no target):
 * the cost is a few PostgreSQL round trips per call, paid only by prepaid users.
 */
export default defineBench(async ({ quick, log }) => {
  const anvil = await startAnvil({ accounts: 4 + concurrency })
  const schema = `rma_bench_prepaid_${randomBytes(4).toString('hex')}`
  const apps: MeteredApp[] = []
  const upstream = await createFakeUpstream()
  const store = createPostgresStore({ connectionString, schema })
  try {
    const fx = await deploySettlementFixture(anvil)
    const users = fx.others.slice(0, concurrency) as Wallet[]
    await Promise.all(
      users.map(async (user) =>
        (
          await fx.settlement.connect(user).depositFor(fx.tokenAddress, user.address, 10n ** 14n)
        ).wait(),
      ),
    )
    const meter = (prepaid: boolean) =>
      createMeteredApp({
        store,
        upstream,
        meterKey: fx.meter.privateKey,
        meter: {
          assetId: fx.assetId as Hex,
          chainId: 31337,
          settlementContract: fx.settlementAddress as Address,
          rpcUrl: anvil.url,
          // Acks are not sent here: the tail bound is not what is measured.
          ...(prepaid ? { prepaid: { maxUnacked: 1_000_000 } } : {}),
        },
      })
    const [postpaid, prepaid] = [await meter(false), await meter(true)]
    apps.push(postpaid, prepaid)
    await Promise.all(apps.map((app) => app.meter.ready))
    const body = JSON.stringify({
      model: 'gpt-4o-mini',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'Hi' }],
    })
    const call = async (app: MeteredApp, user: Wallet) => {
      const res = await fetch(`${app.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'rma-attestation': await attestWith(user, {
            body,
            maxAmount: 10_000n,
            assetId: fx.assetId as Hex,
            settlementContract: fx.settlementAddress as Address,
          }),
        },
        body,
      })
      await res.arrayBuffer()
      if (res.status !== 200) throw new Error(`a benchmark call answered ${res.status}`)
    }
    const round = (app: MeteredApp) => () => Promise.all(users.map((user) => call(app, user)))
    log(`${concurrency} users, one call each in flight, prepaid vs postpaid meter`)
    const result = await compareThroughput(
      {
        prepaid: { task: round(prepaid), opsPerCall: concurrency },
        postpaid: { task: round(postpaid), opsPerCall: concurrency },
      },
      {
        rounds: quick ? 3 : 7,
        minTimeMs: quick ? 1_000 : 3_000,
        warmupMs: quick ? 500 : 1_500,
      },
    )
    return [
      ratioFigure({
        name: 'metered calls per second, prepaid coverage (vs postpaid meter)',
        candidate: result.prepaid,
        baseline: result.postpaid,
        baselineLabel: 'the same meter, store, upstream and users without prepaid coverage',
        opName: 'calls',
        target: null,
        detail: { concurrency, store: 'PostgreSQL', chain: 'anvil' },
      }),
    ]
  } finally {
    for (const app of apps) await app.close()
    await upstream.close()
    await store.close()
    await anvil.stop()
    const admin = new pg.Pool({ connectionString, max: 1 })
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await admin.end()
  }
})
