import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Address,
  type ChainHead,
  hashReceipt,
  type ReceiptStore,
  signReceipt,
  type UsageReceipt,
  verifyReceiptChain,
} from '@rma/core'
import { createPostgresStore, createSqliteStore } from '@rma/store'
import { getBytes, Wallet } from 'ethers'
import pg from 'pg'
import { benchDomain } from '../fixtures/benchDomain.js'
import { createRandom } from '../fixtures/createRandom.js'
import { randomReceipts } from '../fixtures/randomReceipts.js'
import { compareThroughput, type TaskInput } from '../lib/compareThroughput.js'
import { defineBench } from '../lib/defineBench.js'
import type { Figure } from '../lib/figure.js'
import { median } from '../lib/median.js'
import { percentile } from '../lib/percentile.js'
import { ratioFigure } from '../lib/ratioFigure.js'
import { ratioOf } from '../lib/ratioOf.js'
import { rawSign } from '../lib/rawSign.js'

const connectionString =
  process.env.RMA_BENCH_POSTGRES_URL ??
  process.env.RMA_TEST_POSTGRES_URL ??
  'postgres://postgres@127.0.0.1:5432/test'

/** Appends in flight at once, one per user: the shape of a busy meter. */
const users = 64

/**
 * Receipts signed and durably stored per second: 64 concurrent `store.append` calls (one per
 * user chain), each signing its receipt with `signReceipt` (ethers Wallet meter key) on the
 * head the store hands it, as the meter does, then committed (SQLite: WAL, synchronous FULL,
 * group commit on the store's writer thread; PostgreSQL: group commit, one statement per group
 * that checks and moves the chains' heads). The baseline is the raw secp256k1 sign of
 * precomputed digests with the curve code @rma/core signs with (`rawSign`), as in
 * signReceipt.bench.ts: the floor no signer can beat. Signing
 * without a store is measured in the same rounds, to tell the store's share from the signer's.
 * Each call waits for all 64 appends, so the last group's commit is always waited for. Signing
 * alone is also reported as a figure of its own (informational): with the sign callback on the
 * caller's thread, as the store API has it, no store can exceed it.
 */
export default defineBench(async ({ quick, log }) => {
  const domain = benchDomain
  const random = createRandom(5)
  const meter = new Wallet(random.hex(32))
  const meterAddress = meter.address as Address
  const templates = randomReceipts(random, users, meterAddress)
  const digestBytes = templates.map((receipt) => getBytes(hashReceipt(receipt, domain)))
  const privateKey = getBytes(meter.privateKey)
  const run = randomBytes(4).toString('hex')
  const raw = rawSign()

  const signNext = async (template: UsageReceipt, head: ChainHead) => {
    const receipt = await signReceipt({
      signer: meter,
      domain,
      receipt: {
        ...template,
        seq: head.seq + 1,
        prev: head.hash,
        cumulativeAmount: head.cumulativeAmount + template.amount,
      },
    })
    return { receipt, hash: hashReceipt(receipt, domain) }
  }
  let ids = 0
  /** One call: an append per user, all in flight at once. */
  const appendAll = (store: ReceiptStore) => () =>
    Promise.all(
      templates.map((template) =>
        store.append({
          assetId: template.assetId,
          id: `bench-${run}-${ids++}`,
          meter: meterAddress,
          user: template.user,
          sign: (head) => signNext(template, head),
        }),
      ),
    )

  const dir = mkdtempSync(join(tmpdir(), 'rma-bench-store-'))
  const commitMs: number[] = []
  const commitSizes: number[] = []
  const sqlite = createSqliteStore({
    path: join(dir, 'receipts.db'),
    onCommit: ({ receipts, durationMs }) => {
      commitMs.push(durationMs)
      commitSizes.push(receipts)
    },
  })
  const schema = `rma_bench_${run}`
  const admin = new pg.Client({ connectionString })
  let postgres: ReceiptStore | undefined
  try {
    await admin.connect()
    postgres = createPostgresStore({ connectionString, schema })
  } catch (error) {
    await admin.end().catch(() => undefined)
    log(`PostgreSQL unreachable at ${connectionString}, its figure is skipped: ${String(error)}`)
  }

  try {
    // The stored signature is the raw one over the receipt's digest: the same work both sides.
    for (const store of [sqlite, postgres]) {
      if (!store) continue
      const [stored] = await appendAll(store)()
      const compact = raw.compactHex(getBytes(stored!.hash), privateKey)
      if (stored!.receipt.signature.slice(2, 130) !== compact)
        throw new Error('stored signature differs')
    }

    let b = 0
    const tasks: Record<string, TaskInput> = {
      baseline: {
        task: () => {
          for (let i = 0; i < users; i++) raw.sign(digestBytes[b++ % users]!, privateKey)
        },
        opsPerCall: users,
      },
      signOnly: {
        task: () =>
          Promise.all(
            templates.map((template) =>
              signNext(template, { seq: 1, hash: template.prev, cumulativeAmount: 0n }),
            ),
          ),
        opsPerCall: users,
      },
      sqlite: { task: appendAll(sqlite), opsPerCall: users },
    }
    if (postgres) tasks.postgres = { task: appendAll(postgres), opsPerCall: users }
    const stats = await compareThroughput(tasks, {
      rounds: quick ? 5 : 9,
      minTimeMs: quick ? 400 : 1_000,
      warmupMs: quick ? 300 : 1_000,
    })

    // Every chain the stores hold verifies: hashes, links, one signature per head.
    for (const store of [sqlite, postgres]) {
      if (!store) continue
      const receipts = (
        await Promise.all(templates.map((t) => store.listByUser({ user: t.user })))
      ).flatMap((list) => list.map((stored) => stored.receipt))
      const { valid, chains } = verifyReceiptChain(receipts, [meterAddress], { domain })
      if (!valid || chains.length !== users) throw new Error('stored receipt chains do not verify')
      log(`${receipts.length} stored receipts verify as ${chains.length} chains`)
    }

    const baselineLabel = raw.label
    const signOnlyOpsPerSecond = Math.round(stats.signOnly!.opsPerSecond)
    const signOnlyOverBaseline = round(ratioOf(stats.signOnly!, stats.baseline!))
    const figures: Figure[] = [
      // What a store whose caller signs on its own thread can reach at best: no store at all.
      ratioFigure({
        name: 'receipts signed per second without a store (vs raw sign): ceiling of the stored figures',
        candidate: stats.signOnly!,
        baseline: stats.baseline!,
        baselineLabel,
        opName: 'receipts',
        target: null,
        detail: {
          candidate: `signReceipt + hashReceipt with an ethers Wallet, ${users} at once, as the stores' sign callbacks do, nothing stored`,
        },
      }),
      ratioFigure({
        name: 'receipts signed + stored per second, SQLite (vs raw sign)',
        candidate: stats.sqlite!,
        baseline: stats.baseline!,
        baselineLabel,
        opName: 'receipts',
        target: 0.8,
        detail: {
          candidate: `createSqliteStore (temp file, WAL, synchronous FULL): ${users} concurrent appends, signReceipt + hashReceipt with an ethers Wallet`,
          concurrentAppends: users,
          signOnlyOpsPerSecond,
          signOnlyOverBaseline,
          storeOverSignOnly: round(ratioOf(stats.sqlite!, stats.signOnly!)),
          // Commits run on the store's writer thread, while the next receipts are signed; only
          // the last group of a call is waited for.
          groupCommits: {
            count: commitMs.length,
            receiptsPerCommitMedian: median(commitSizes),
            msPerCommitMedian: round(median(commitMs)),
            msPerCommitP90: round(percentile(commitMs, 90)),
            receiptsInFile: sum(commitSizes),
          },
        },
      }),
    ]
    if (postgres && stats.postgres)
      figures.push(
        ratioFigure({
          name: 'receipts signed + stored per second, PostgreSQL (vs raw sign)',
          candidate: stats.postgres,
          baseline: stats.baseline!,
          baselineLabel,
          opName: 'receipts',
          target: 0.6,
          detail: {
            candidate: `createPostgresStore (its own pg.Pool, default size), schema ${schema} on ${connectionString}: ${users} concurrent appends, group commit (one statement per group)`,
            concurrentAppends: users,
            signOnlyOpsPerSecond,
            signOnlyOverBaseline,
            storeOverSignOnly: round(ratioOf(stats.postgres, stats.signOnly!)),
          },
        }),
      )
    return figures
  } finally {
    await sqlite.close()
    rmSync(dir, { recursive: true, force: true })
    if (postgres) {
      await postgres.close()
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      await admin.end()
    }
  }
})

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000
}
