import { randomBytes } from 'node:crypto'
import {
  type Address,
  type ChainHead,
  type ReceiptStore,
  verifyReceiptChain,
  zeroHash,
} from '@rma/core'
import pg from 'pg'
import { afterAll, describe, expect, test } from 'vitest'
import { createPostgresStore } from './createPostgresStore.js'
import { StoreError } from './errors.js'
import { describeReceiptStore } from './receiptStore.contract.js'
import { runFixture } from './testing/childProcess.js'
import {
  randomHex,
  randomWallet,
  receiptSigner,
  testAssetId,
  testDomain,
} from './testing/receiptSigner.js'

const connectionString =
  process.env.RMA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const run = randomBytes(4).toString('hex')
const schemas: string[] = []
const admin = new pg.Pool({ connectionString, max: 2 })

/** A fresh schema name for this run, dropped after the file's tests. */
function freshSchema(): string {
  const schema = `rma_test_${run}_${schemas.length}`
  schemas.push(schema)
  return schema
}

afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await admin.end()
})

const schemaOf = new WeakMap<ReceiptStore, string>()

function openIn(schema: string): ReceiptStore {
  const store = createPostgresStore({ connectionString, schema, nonceSweepIntervalMs: 20 })
  schemaOf.set(store, schema)
  return store
}

describeReceiptStore('createPostgresStore', () => openIn(freshSchema()), {
  reopen: (closed) => openIn(schemaOf.get(closed)!),
  nonceRows: async (store) => {
    const { rows } = await admin.query<{ count: string }>(
      `SELECT count(*) FROM "${schemaOf.get(store)!}".nonces`,
    )
    return Number(rows[0]!.count)
  },
})

describe('createPostgresStore', () => {
  test('stores opening a new schema at once migrate it exactly once', async () => {
    const schema = freshSchema()
    const stores = Array.from({ length: 4 }, () =>
      createPostgresStore({ connectionString, schema }),
    )
    const heads = await Promise.all(
      stores.map((s) =>
        s.head({ assetId: testAssetId, meter: randomHex(20), user: randomHex(20) }),
      ),
    )
    expect(heads.map((h) => h.seq)).toEqual([0, 0, 0, 0])
    await Promise.all(stores.map((s) => s.close()))
    const { rows } = await admin.query(`SELECT version FROM "${schema}".migrations`)
    expect(rows).toEqual([{ version: 1 }, { version: 2 }])
  })

  test('a schema migrated by a newer version is refused', async () => {
    const schema = freshSchema()
    await admin.query(`CREATE SCHEMA "${schema}"`)
    await admin.query(
      `CREATE TABLE "${schema}".migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    )
    await admin.query(`INSERT INTO "${schema}".migrations (version, name) VALUES (7, 'future')`)
    const store = createPostgresStore({ connectionString, schema })
    const error = await store.get('x').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreError)
    expect(error).toMatchObject({
      code: 'SCHEMA_TOO_NEW',
      shortMessage: 'Database schema version 7 is newer than this @rma/store supports (2).',
    })
    await store.close()
  })

  test('an unsafe schema name is refused', () => {
    expect(() =>
      createPostgresStore({ connectionString, schema: 'rma"; DROP TABLE x; --' }),
    ).toThrow('Invalid PostgreSQL schema name "rma"; DROP TABLE x; --".')
  })

  test('a pool passed in is left open by close()', async () => {
    const pool = new pg.Pool({ connectionString, max: 2 })
    const store = createPostgresStore({ pool, schema: freshSchema() })
    const meter = randomWallet()
    const user = randomHex(20)
    await store.append({
      assetId: testAssetId,
      id: 'p1',
      meter: meter.address as Address,
      user,
      sign: receiptSigner({ meter, user }),
    })
    await store.close()
    const { rows } = await pool.query('SELECT 1 AS one')
    expect(rows).toEqual([{ one: 1 }])
    await pool.end()
  })

  /** Two child processes, each running 200 concurrent appends for one user. */
  async function appendFromTwoProcesses(meterKeys: [string, string], user: Address) {
    const schema = freshSchema()
    const runs = meterKeys.map((key, i) =>
      runFixture('postgresAppender', [connectionString, schema, key, user, '200', `p${i}`]),
    )
    const exits = await Promise.all(runs.map((r) => r.exited))
    expect(exits.map((e) => [e.code, e.stderr])).toEqual([
      [0, ''],
      [0, ''],
    ])
    const printed = runs.flatMap((r) => r.lines)
    const store = createPostgresStore({ connectionString, schema })
    const stored = await store.listByUser({ user })
    await store.close()
    return { printed, stored }
  }

  test('two processes with their own meter keys append 200 each for one user: two valid chains', async () => {
    const meters = [randomWallet(), randomWallet()]
    const user = randomHex(20)
    const { printed, stored } = await appendFromTwoProcesses(
      [meters[0]!.privateKey, meters[1]!.privateKey],
      user,
    )
    expect(printed).toHaveLength(400)
    expect(stored.map((r) => r.id).sort()).toEqual([...printed].sort())
    const { issues, chains } = verifyReceiptChain(
      stored.map((r) => r.receipt),
      meters.map((m) => m.address as Address),
      { domain: testDomain },
    )
    expect(issues).toEqual([])
    expect(chains.map((c) => [c.fromSeq, c.toSeq, c.count])).toEqual([
      [1, 200, 200],
      [1, 200, 200],
    ])
  }, 30_000)

  test('two processes sharing one meter key still allocate every seq exactly once', async () => {
    const meter = randomWallet()
    const user = randomHex(20)
    const { printed, stored } = await appendFromTwoProcesses(
      [meter.privateKey, meter.privateKey],
      user,
    )
    expect(printed).toHaveLength(400)
    expect(stored.map((r) => r.receipt.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 400 }, (_, i) => i + 1),
    )
    const { issues, chains } = verifyReceiptChain(
      stored.map((r) => r.receipt),
      [meter.address as Address],
      { domain: testDomain },
    )
    expect(issues).toEqual([])
    expect(chains.map((c) => [c.fromSeq, c.toSeq, c.count])).toEqual([[1, 400, 400]])
    expect(stored.map((r) => r.id).sort()).toEqual([...printed].sort())
  }, 30_000)

  test('receipts signed in one turn are written by one statement, without a transaction each', async () => {
    const pool = new pg.Pool({ connectionString, max: 10 })
    const store = createPostgresStore({ pool, schema: freshSchema() })
    await store.head({ assetId: testAssetId, meter: randomHex(20), user: randomHex(20) }) // migrated
    const statements: string[] = []
    const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>
    pool.query = ((...args: unknown[]) => {
      const sql = typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text
      statements.push(sql)
      return query(...args)
    }) as typeof pool.query
    // Every pool.query checks a connection out; so would each per-receipt transaction.
    let acquired = 0
    pool.on('acquire', () => acquired++)
    const meter = randomWallet()
    const users = Array.from({ length: 10 }, () => randomHex(20))
    const signers = users.map((user) => receiptSigner({ meter, user }))
    const stored = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        store.append({
          assetId: testAssetId,
          id: `g${i}`,
          meter: meter.address as Address,
          user: users[i % 10]!,
          sign: signers[i % 10]!,
        }),
      ),
    )
    const groups = statements.filter((sql) => sql.includes('json_to_recordset'))
    expect(groups.length).toBeGreaterThan(1)
    expect(groups.length).toBeLessThan(20)
    // Heads read once per chain, then kept: no per-receipt transaction.
    expect(statements.length - groups.length).toBe(10)
    expect(acquired).toBe(statements.length)
    const { issues, chains } = verifyReceiptChain(
      stored.map((r) => r.receipt),
      [meter.address as Address],
      { domain: testDomain },
    )
    expect(issues).toEqual([])
    expect(chains.map((c) => [c.fromSeq, c.toSeq])).toEqual(
      Array.from({ length: 10 }, () => [1, 20]),
    )
    await store.close()
    await pool.end()
  })

  test('a chain another writer appended to meanwhile: the append signs again on the new head', async () => {
    const schema = freshSchema()
    const [a, b] = [
      createPostgresStore({ connectionString, schema }),
      createPostgresStore({ connectionString, schema }),
    ]
    const meter = randomWallet()
    const user = randomHex(20)
    const m = meter.address as Address
    const sign = receiptSigner({ meter, user })
    const r1 = await a.append({ assetId: testAssetId, id: 'r1', meter: m, user, sign })
    const r2 = await b.append({ assetId: testAssetId, id: 'r2', meter: m, user, sign })
    const heads: ChainHead[] = []
    const recording = (head: ChainHead) => {
      heads.push(head)
      return sign(head)
    }
    // `a` signs on the head it kept (r1), finds r2 there, and signs again on it.
    const r3 = await a.append({ assetId: testAssetId, id: 'r3', meter: m, user, sign: recording })
    expect(heads).toEqual([
      { seq: 1, hash: r1.hash },
      { seq: 2, hash: r2.hash },
    ])
    expect([r3.receipt.seq, r3.receipt.prev]).toEqual([3, r2.hash])
    // From then on `a` locks the chain's head for each receipt: one signature each.
    heads.length = 0
    const r4 = await a.append({ assetId: testAssetId, id: 'r4', meter: m, user, sign: recording })
    expect(heads).toEqual([{ seq: 3, hash: r3.hash }])
    const r5 = await b.append({ assetId: testAssetId, id: 'r5', meter: m, user, sign })
    expect([r4.receipt.seq, r5.receipt.seq]).toEqual([4, 5])
    const chain = await a.listByUser({ user })
    expect(chain.map((r) => r.id)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5'])
    const { issues } = verifyReceiptChain(
      chain.map((r) => r.receipt),
      [m],
      { domain: testDomain },
    )
    expect(issues).toEqual([])
    await Promise.all([a.close(), b.close()])
  })

  test('a group that fails (a duplicate id) still stores its other appends', async () => {
    const store = createPostgresStore({ connectionString, schema: freshSchema() })
    const meter = randomWallet()
    const m = meter.address as Address
    const [alice, bob, carol, dave] = Array.from({ length: 4 }, () => randomHex(20)) as [
      Address,
      Address,
      Address,
      Address,
    ]
    const append = (id: string, user: Address) =>
      store.append({
        assetId: testAssetId,
        id,
        meter: m,
        user,
        sign: receiptSigner({ meter, user }),
      })
    const first = await append('dup', alice)
    const results = await Promise.allSettled([
      append('x1', bob),
      append('dup', carol),
      append('x2', dave),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({
      code: 'DUPLICATE_RECEIPT_ID',
    })
    expect(await store.get('dup')).toEqual(first)
    expect(await store.head({ assetId: testAssetId, meter: m, user: carol })).toEqual({
      seq: 0,
      hash: zeroHash,
    })
    expect((await store.head({ assetId: testAssetId, meter: m, user: bob })).seq).toBe(1)
    expect((await append('x3', bob)).receipt.seq).toBe(2)
    await store.close()
  })
})
