import { randomBytes } from 'node:crypto'
import { type Address, type ReceiptStore, verifyReceiptChain } from '@rma/core'
import pg from 'pg'
import { afterAll, describe, expect, test } from 'vitest'
import { createPostgresStore } from './createPostgresStore.js'
import { StoreError } from './errors.js'
import { describeReceiptStore } from './receiptStore.contract.js'
import { runFixture } from './testing/childProcess.js'
import { randomHex, randomWallet, receiptSigner, testDomain } from './testing/receiptSigner.js'

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
  const store = createPostgresStore({ connectionString, schema })
  schemaOf.set(store, schema)
  return store
}

describeReceiptStore('createPostgresStore', () => openIn(freshSchema()), {
  reopen: (closed) => openIn(schemaOf.get(closed)!),
})

describe('createPostgresStore', () => {
  test('stores opening a new schema at once migrate it exactly once', async () => {
    const schema = freshSchema()
    const stores = Array.from({ length: 4 }, () =>
      createPostgresStore({ connectionString, schema }),
    )
    const heads = await Promise.all(stores.map((s) => s.head(randomHex(20), randomHex(20))))
    expect(heads.map((h) => h.seq)).toEqual([0, 0, 0, 0])
    await Promise.all(stores.map((s) => s.close()))
    const { rows } = await admin.query(`SELECT version FROM "${schema}".migrations`)
    expect(rows).toEqual([{ version: 1 }])
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
      shortMessage: 'Database schema version 7 is newer than this @rma/store supports (1).',
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
})
