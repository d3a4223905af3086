import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type Address,
  type ChainHead,
  decodeAck,
  decodeReceipt,
  encodeAck,
  encodeReceipt,
  type ReceiptStore,
  type StoredReceipt,
  verifyReceiptChain,
  zeroHash,
} from '@rma/core'
import pg from 'pg'
import { afterAll, describe, expect, test } from 'vitest'
import { createPostgresStore, postgresWritableCacheMs } from './createPostgresStore.js'
import { StoreError } from './errors.js'
import {
  appendOnePerChain,
  expectChainsContinuous,
  expectOnlyResolvedStored,
  startBurst,
} from './groupCommitFailure.contract.js'
import { migratePostgres, postgresMigrations } from './internal/postgresSchema.js'
import { batchRecord, describeReceiptStore } from './receiptStore.contract.js'
import { runFixture } from './testing/childProcess.js'
import { createTcpProxy, type TcpProxy } from './testing/createTcpProxy.js'
import { legacyAckEncoding, legacyReceiptEncoding } from './testing/legacyLayout.js'
import {
  ackFor,
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
    expect(rows).toEqual([
      { version: 1 },
      { version: 2 },
      { version: 3 },
      { version: 4 },
      { version: 5 },
    ])
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
      shortMessage: 'Database schema version 7 is newer than this @rma/store supports (5).',
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
      { seq: 1, hash: r1.hash, cumulativeAmount: r1.receipt.cumulativeAmount },
      { seq: 2, hash: r2.hash, cumulativeAmount: r2.receipt.cumulativeAmount },
    ])
    expect([r3.receipt.seq, r3.receipt.prev]).toEqual([3, r2.hash])
    // From then on `a` locks the chain's head for each receipt: one signature each.
    heads.length = 0
    const r4 = await a.append({ assetId: testAssetId, id: 'r4', meter: m, user, sign: recording })
    expect(heads).toEqual([
      { seq: 3, hash: r3.hash, cumulativeAmount: r3.receipt.cumulativeAmount },
    ])
    expect(r3.receipt.cumulativeAmount).toBe(3n * 4321n)
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
      cumulativeAmount: 0n,
    })
    expect((await store.head({ assetId: testAssetId, meter: m, user: bob })).seq).toBe(1)
    expect((await append('x3', bob)).receipt.seq).toBe(2)
    await store.close()
  })

  test('a version 4 schema is migrated to version 5: tag-4 receipts gain zero cacheWriteTokens, priceTable and attestation, keep their hash, and chains continue', async () => {
    const schema = freshSchema()
    const s = `"${schema}"`
    await migratePostgres(admin, schema, postgresMigrations.slice(0, 4))
    const meter = randomWallet()
    const m = meter.address as Address
    const user = randomHex(20)
    const sign = receiptSigner({ meter, user, amount: 9n })
    const first = await sign({ seq: 0, hash: zeroHash, cumulativeAmount: 0n })
    const second = await sign({ seq: 1, hash: first.hash, cumulativeAmount: 9n })
    for (const [id, { receipt, hash }] of Object.entries({ first, second }))
      await admin.query(
        `INSERT INTO ${s}.receipts (id, hash, asset_id, meter, "user", seq, timestamp, receipt, cumulative_amount)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          id,
          hash,
          testAssetId,
          m.toLowerCase(),
          user.toLowerCase(),
          receipt.seq,
          receipt.timestamp,
          legacyReceiptEncoding(receipt, 4),
          receipt.cumulativeAmount.toString(),
        ],
      )
    await admin.query(
      `INSERT INTO ${s}.chain_heads (asset_id, meter, "user", seq, hash, cumulative_amount) VALUES ($1, $2, $3, 2, $4, 18)`,
      [testAssetId, m.toLowerCase(), user.toLowerCase(), second.hash],
    )

    const store = createPostgresStore({ connectionString, schema })
    for (const [id, { receipt, hash }] of Object.entries({ first, second })) {
      const stored = await store.get(id)
      expect(stored?.hash).toBe(hash)
      expect(stored?.receipt).toEqual(decodeReceipt(encodeReceipt(receipt)))
      expect(stored?.receipt).toMatchObject({
        cacheWriteTokens: 0,
        priceTable: zeroHash,
        attestation: zeroHash,
      })
    }
    const chain = { assetId: testAssetId, meter: m, user }
    const third = await store.append({ ...chain, id: 'third', sign })
    expect([third.receipt.seq, third.receipt.prev, third.receipt.cumulativeAmount]).toEqual([
      3,
      second.hash,
      27n,
    ])
    await store.close()
    const { rows } = await admin.query<{ receipt: string }>(`SELECT receipt FROM ${s}.receipts`)
    expect(rows.map((r) => Buffer.from(r.receipt, 'base64url')[0])).toEqual([6, 6, 6])
  })

  test('a version 2 schema is migrated to version 3: cumulative amounts back-filled per chain, rows and acks rewritten, chains continue', async () => {
    const schema = freshSchema()
    const s = `"${schema}"`
    await migratePostgres(admin, schema, postgresMigrations.slice(0, 2))
    const meter = randomWallet()
    const m = meter.address as Address
    const userWallet = randomWallet()
    const user = userWallet.address as Address
    const assetY = randomHex(32)
    // What version 2 held: chains X (3 receipts, amounts 5, 7, 11) and Y (1 receipt) of one
    // user, in the layout without cumulativeAmount, and an ack of X's seq 2.
    let head: ChainHead = { seq: 0, hash: zeroHash, cumulativeAmount: 0n }
    const x: Awaited<ReturnType<ReturnType<typeof receiptSigner>>>[] = []
    for (const amount of [5n, 7n, 11n]) {
      const signed = await receiptSigner({ meter, user, amount })(head)
      x.push(signed)
      head = {
        seq: signed.receipt.seq,
        hash: signed.hash,
        cumulativeAmount: signed.receipt.cumulativeAmount,
      }
    }
    const y1 = await receiptSigner({ meter, user, assetId: assetY, amount: 13n })({
      seq: 0,
      hash: zeroHash,
      cumulativeAmount: 0n,
    })
    for (const [id, { receipt, hash }] of [
      ...x.map((r, i) => [`x${i + 1}`, r] as const),
      ['y1', y1] as const,
    ])
      await admin.query(
        `INSERT INTO ${s}.receipts (id, hash, asset_id, meter, "user", seq, timestamp, receipt)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          id,
          hash,
          receipt.assetId.toLowerCase(),
          m.toLowerCase(),
          user.toLowerCase(),
          receipt.seq,
          receipt.timestamp,
          legacyReceiptEncoding(receipt),
        ],
      )
    await admin.query(
      `INSERT INTO ${s}.chain_heads (asset_id, meter, "user", seq, hash) VALUES ($1, $2, $3, 3, $4), ($5, $2, $3, 1, $6)`,
      [testAssetId, m.toLowerCase(), user.toLowerCase(), x[2]!.hash, assetY, y1.hash],
    )
    const ack = await ackFor(userWallet, x[1]!.receipt, x[1]!.hash)
    await admin.query(
      `INSERT INTO ${s}.acks (asset_id, meter, "user", seq, ack) VALUES ($1, $2, $3, 2, $4)`,
      [testAssetId, m.toLowerCase(), user.toLowerCase(), legacyAckEncoding(ack)],
    )

    const store = createPostgresStore({ connectionString, schema })
    const chainX = { assetId: testAssetId, meter: m, user }
    expect(await store.head(chainX)).toEqual({
      seq: 3,
      hash: x[2]!.hash,
      cumulativeAmount: 23n,
    })
    expect(await store.head({ ...chainX, assetId: assetY })).toEqual({
      seq: 1,
      hash: y1.hash,
      cumulativeAmount: 13n,
    })
    expect(
      (await store.listByUser({ user })).map((r) => [r.id, r.receipt.cumulativeAmount]),
    ).toEqual(
      expect.arrayContaining([
        ['x1', 5n],
        ['x2', 12n],
        ['x3', 23n],
        ['y1', 13n],
      ]),
    )
    expect(await store.get('x2')).toMatchObject({
      hash: x[1]!.hash,
      receipt: { cumulativeAmount: 12n },
    })
    expect(await store.latestAck(chainX)).toEqual(decodeAck(encodeAck(ack)))
    const x4 = await store.append({
      ...chainX,
      id: 'x4',
      sign: receiptSigner({ meter, user, amount: 17n }),
    })
    expect([x4.receipt.seq, x4.receipt.prev, x4.receipt.cumulativeAmount]).toEqual([
      4,
      x[2]!.hash,
      40n,
    ])
    await store.close()
  })
})

describe('createPostgresStore shared by several instances', () => {
  test('two stores on one schema claim one nonce concurrently: exactly one claim is true', async () => {
    const schema = freshSchema()
    const [a, b] = [openIn(schema), openIn(schema)]
    const user = randomHex(20)
    const keepUntil = Math.floor(Date.now() / 1000) + 3600
    for (let round = 0; round < 5; round++) {
      const nonce = BigInt(round)
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? a : b).claimNonce({ assetId: testAssetId, user, nonce, keepUntil }),
        ),
      )
      expect(results.filter(Boolean)).toHaveLength(1)
    }
    // A third instance (a restarted meter) sees every claim.
    const c = openIn(schema)
    expect(await c.claimNonce({ assetId: testAssetId, user, nonce: 3n, keepUntil })).toBe(false)
    await Promise.all([a.close(), b.close(), c.close()])
  })

  test('two stores on one schema record one epoch concurrently: exactly one wins, nothing is overwritten', async () => {
    const schema = freshSchema()
    const [a, b] = [openIn(schema), openIn(schema)]
    for (let epoch = 1; epoch <= 5; epoch++) {
      const records = Array.from({ length: 6 }, (_, i) =>
        batchRecord(epoch, { revenue: BigInt(i), batchUri: `ipfs://settler-${i}` }),
      )
      const results = await Promise.all(
        records.map((record, i) => (i % 2 ? a : b).createBatch(record)),
      )
      expect(results.filter(Boolean)).toHaveLength(1)
      expect(await a.getBatch(testAssetId, epoch)).toEqual(records[results.indexOf(true)])
    }
    await Promise.all([a.close(), b.close()])
  })

  test('two stores on one schema reserve one user’s balance concurrently: never past the limit, receipts and releases interleaved', async () => {
    const schema = freshSchema()
    const [a, b] = [openIn(schema), openIn(schema)]
    const meter = randomWallet()
    const user = randomHex(20)
    const chain = { assetId: testAssetId, meter: meter.address as Address, user }
    const sign = receiptSigner({ meter, user, amount: 100n })
    const limit = 5_000n
    let receipts = 0n
    // 120 calls over both instances, each reserving 100 and, once reserved, charging all of it
    // (its receipt) and then releasing: with no slack, any race would charge past the limit.
    const outcomes = await Promise.all(
      Array.from({ length: 120 }, async (_, i) => {
        const store = i % 2 ? a : b
        const id = `call-${i}`
        const result = await store.reserve({
          id,
          chain,
          assets: [testAssetId],
          amount: 100n,
          limit,
          settled: new Map(),
          expiresAt: Date.now() + 60_000,
        })
        if (!result.reserved) return result
        expect(result.pending + result.held + 100n).toBeLessThanOrEqual(limit)
        await store.append({ ...chain, id, sign })
        receipts += 100n
        await store.release(id)
        return result
      }),
    )
    const head = await a.head(chain)
    expect(head.cumulativeAmount).toBe(receipts)
    expect(receipts).toBeLessThanOrEqual(limit)
    // Serving stopped only for balance, and only once the limit was used: a call counts 100
    // while held or charged, 200 between its receipt and its release, so a refusal means at
    // least 4,901 / 200 calls were served.
    const refused = outcomes.filter((o) => !o.reserved)
    expect(refused.length).toBeGreaterThan(0)
    expect(refused.every((o) => o.reason === 'balance')).toBe(true)
    expect(outcomes.length - refused.length).toBeGreaterThanOrEqual(25)
    await Promise.all([a.close(), b.close()])
  })
})

describe('createPostgresStore behind a network that fails', () => {
  const target = new URL(connectionString)
  const viaProxy = (proxy: TcpProxy) => {
    const url = new URL(connectionString)
    url.hostname = proxy.host
    url.port = String(proxy.port)
    return url.toString()
  }

  test('cut: checkWritable, append and claimNonce refuse with STORE_UNAVAILABLE and store nothing; all recover', async () => {
    const proxy = await createTcpProxy({
      target: { host: target.hostname, port: Number(target.port || 5432) },
    })
    const schema = freshSchema()
    const store = createPostgresStore({
      connectionString: viaProxy(proxy),
      schema,
      healthTimeoutMs: 500,
      readBackTimeoutMs: 300,
    })
    const meter = randomWallet()
    const m = meter.address as Address
    const user = randomHex(20)
    const append = (id: string) =>
      store.append({
        assetId: testAssetId,
        id,
        meter: m,
        user,
        sign: receiptSigner({ meter, user }),
      })
    const first = await append('before')
    await store.checkWritable()
    proxy.refuse()
    proxy.cut()
    // Past the cached positive answer, the check makes its round trip and fails.
    await sleep(postgresWritableCacheMs + 50)
    const checked = await store.checkWritable().catch((e: unknown) => e)
    expect(checked).toBeInstanceOf(StoreError)
    expect(checked).toMatchObject({ code: 'STORE_UNAVAILABLE' })
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, (_, i) => append(`cut-${i}`)),
    )
    for (const result of results) {
      expect(result.status).toBe('rejected')
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'STORE_UNAVAILABLE' })
    }
    await expect(
      store.claimNonce({ assetId: testAssetId, user, nonce: 9n, keepUntil: 2e9 }),
    ).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    const { rows } = await admin.query(`SELECT id FROM "${schema}".receipts ORDER BY seq`)
    expect(rows).toEqual([{ id: 'before' }])
    proxy.accept()
    await store.checkWritable()
    const next = await append('after')
    expect([next.receipt.seq, next.receipt.prev]).toEqual([2, first.hash])
    expect(await store.claimNonce({ assetId: testAssetId, user, nonce: 9n, keepUntil: 2e9 })).toBe(
      true,
    )
    await store.close()
    await proxy.close()
  })

  test('replies lost after the commit: all 8 appends resolve with the receipts that were stored, none says "unstored"', async () => {
    const proxy = await createTcpProxy({
      target: { host: target.hostname, port: Number(target.port || 5432) },
    })
    const schema = freshSchema()
    const store = createPostgresStore({ connectionString: viaProxy(proxy), schema })
    const meter = randomWallet()
    const m = meter.address as Address
    const users = Array.from({ length: 8 }, () => randomHex(20))
    const append = (id: string, user: Address) =>
      store.append({
        assetId: testAssetId,
        id,
        meter: m,
        user,
        sign: receiptSigner({ meter, user }),
      })
    // Each chain's head is known, so the next appends are one group statement.
    await Promise.all(users.map((user, i) => append(`warm-${i}`, user)))
    proxy.dropReplies()
    const pending = users.map((user, i) => append(`lost-${i}`, user))
    const outcomes = Promise.allSettled(pending)
    // The database committed them; their replies were dropped.
    for (let i = 0; i < 400; i++) {
      const { rows } = await admin.query<{ count: string }>(
        `SELECT count(*) FROM "${schema}".receipts WHERE id LIKE 'lost-%'`,
      )
      if (Number(rows[0]!.count) === 8) break
      await sleep(10)
    }
    expect(proxy.droppedBytes).toBeGreaterThan(0)
    proxy.resume()
    proxy.cut()
    const results = await outcomes
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 8 }, () => 'fulfilled'))
    for (const [i, result] of results.entries()) {
      const stored = (result as PromiseFulfilledResult<StoredReceipt>).value
      expect(stored.id).toBe(`lost-${i}`)
      expect(await store.get(stored.id)).toEqual(stored)
      expect([stored.receipt.seq, stored.epoch]).toEqual([2, null])
    }
    // No receipt was signed twice: every chain is seq 1, 2 and links.
    const all = (await Promise.all(users.map((user) => store.listByUser({ user })))).flat()
    expect(all).toHaveLength(16)
    const { issues } = verifyReceiptChain(
      all.map((r) => r.receipt),
      [m],
      { domain: testDomain },
    )
    expect(issues).toEqual([])
    await store.close()
    await proxy.close()
  })

  test('a chain locked elsewhere past queryTimeoutMs: the append rejects with STORE_UNAVAILABLE and nothing commits later', async () => {
    const schema = freshSchema()
    const store = createPostgresStore({ connectionString, schema, queryTimeoutMs: 300 })
    const meter = randomWallet()
    const m = meter.address as Address
    const user = randomHex(20)
    const append = (id: string) =>
      store.append({
        assetId: testAssetId,
        id,
        meter: m,
        user,
        sign: receiptSigner({ meter, user }),
      })
    const first = await append('first')
    const locker = await admin.connect()
    try {
      await locker.query('BEGIN')
      await locker.query(`SELECT * FROM "${schema}".chain_heads FOR UPDATE`)
      await expect(append('blocked')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
      await locker.query('COMMIT')
    } finally {
      locker.release()
    }
    // Had the server kept the statement, it would commit now that the lock is free.
    await sleep(200)
    expect(await store.get('blocked')).toBeUndefined()
    const next = await append('next')
    expect([next.receipt.seq, next.receipt.prev]).toEqual([2, first.hash])
    await store.close()
  })

  test('a network that swallows everything: appends reject with STORE_UNAVAILABLE instead of hanging', async () => {
    const proxy = await createTcpProxy({
      target: { host: target.hostname, port: Number(target.port || 5432) },
    })
    const schema = freshSchema()
    const store = createPostgresStore({
      connectionString: viaProxy(proxy),
      schema,
      queryTimeoutMs: 300,
      healthTimeoutMs: 300,
      readBackTimeoutMs: 300,
    })
    const meter = randomWallet()
    const m = meter.address as Address
    const user = randomHex(20)
    const append = (id: string) =>
      store.append({
        assetId: testAssetId,
        id,
        meter: m,
        user,
        sign: receiptSigner({ meter, user }),
      })
    const first = await append('first')
    proxy.pause()
    await expect(append('stalled')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    proxy.resume()
    const { rows } = await admin.query(`SELECT id FROM "${schema}".receipts ORDER BY seq`)
    expect(rows).toEqual([{ id: 'first' }])
    const next = await append('next')
    expect([next.receipt.seq, next.receipt.prev]).toEqual([2, first.hash])
    await store.close()
    await proxy.close()
  })
})

describe('createPostgresStore failure policy (the group-commit engine): nothing unstored is reported stored, chains stay continuous', () => {
  const target = new URL(connectionString)

  /** A pool through `proxy`, and a promise of the next connection it hands out. */
  function poolVia(proxy: TcpProxy) {
    const url = new URL(connectionString)
    url.hostname = proxy.host
    url.port = String(proxy.port)
    const pool = new pg.Pool({ connectionString: url.toString(), connectionTimeoutMillis: 500 })
    pool.on('error', () => {}) // idle connections the proxy cuts
    return pool
  }

  /** What the schema holds durably, read on a connection of its own: id to hash. */
  async function durableIn(schema: string): Promise<Map<string, string>> {
    const { rows } = await admin.query<{ id: string; hash: string }>(
      `SELECT id, hash FROM "${schema}".receipts`,
    )
    return new Map(rows.map((row) => [row.id, row.hash]))
  }

  /** The chains' receipts as the schema holds them. */
  async function chainsIn(schema: string): Promise<StoredReceipt[]> {
    const reader = createPostgresStore({ connectionString, schema })
    try {
      const { rows } = await admin.query<{ user: Address }>(
        `SELECT DISTINCT "user" FROM "${schema}".receipts`,
      )
      return (await Promise.all(rows.map((row) => reader.listByUser({ user: row.user })))).flat()
    } finally {
      await reader.close()
    }
  }

  /** Opens a store through a fresh proxy and appends one receipt per user (heads now cached). */
  async function warmStore(options: { readBackTimeoutMs: number }) {
    const proxy = await createTcpProxy({
      target: { host: target.hostname, port: Number(target.port || 5432) },
    })
    const pool = poolVia(proxy)
    const schema = freshSchema()
    const store = createPostgresStore({ pool, schema, queryTimeoutMs: 3000, ...options })
    const meter = randomWallet()
    const users = Array.from({ length: 4 }, () => randomHex(20))
    await appendOnePerChain(store, { meter, users, prefix: 'warm' })
    return { proxy, pool, schema, store, meter, users }
  }

  test('a group statement cut before it reached PostgreSQL: read back as missing, its appends are signed again on re-read heads and stored; chains continue', async () => {
    const { proxy, pool, schema, store, meter, users } = await warmStore({
      readBackTimeoutMs: 5000,
    })
    proxy.pause()
    // The heads are cached: the next connection checked out carries the burst's first group.
    const sent = new Promise((resolve) => pool.once('acquire', resolve))
    const burst = startBurst(store, { meter, users, perChain: 6, prefix: 'cut' })
    await sent
    await sleep(100) // the statement is written, and held by the proxy
    proxy.cut() // dropped with what it held: the statement never reaches the server
    proxy.resume()
    const results = await burst.results
    expect(results.map((r) => r.status)).toEqual(results.map(() => 'fulfilled'))
    expect([...burst.heads.values()].some((heads) => heads.length === 2)).toBe(true)
    const after = await appendOnePerChain(store, { meter, users, prefix: 'after' })
    expect(after.map((r) => r.receipt.seq)).toEqual([8, 8, 8, 8])
    expectOnlyResolvedStored(burst, results, await durableIn(schema))
    expectChainsContinuous(
      await chainsIn(schema),
      meter.address as Address,
      users,
      new Map(users.map((user) => [user, 8])),
    )
    await store.close()
    await pool.end()
    await proxy.close()
  })

  test('pipelined groups: while one group waits on a locked chain head, others commit and are acknowledged; a group PostgreSQL refuses refuses only its faulty receipt; nothing not durable is acknowledged, nothing acknowledged is lost, chains continue', async () => {
    const pool = new pg.Pool({ connectionString })
    const schema = freshSchema()
    const store = createPostgresStore({ pool, schema })
    const meter = randomWallet()
    // More chains than one event-loop turn signs, so several groups are in flight at once.
    const users = Array.from({ length: 48 }, () => randomHex(20))
    const warm = await appendOnePerChain(store, { meter, users, prefix: 'warm' })
    // One receipt of the burst fails in PostgreSQL itself (its group's statement is refused).
    const faulty = 'pipe-7-1'
    await admin.query(
      `CREATE FUNCTION "${schema}".refuse_one() RETURNS trigger AS $$ BEGIN
         IF NEW.id = '${faulty}' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW;
       END $$ LANGUAGE plpgsql`,
    )
    await admin.query(
      `CREATE TRIGGER refuse_one BEFORE INSERT ON "${schema}".receipts
       FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_one()`,
    )
    // A transaction of its own holds user 0's chain head row: the group with user 0's next
    // receipt waits on it, in flight. Groups without that chain must commit meanwhile.
    const locker = await admin.connect()
    await locker.query('BEGIN')
    await locker.query(`SELECT 1 FROM "${schema}".chain_heads WHERE "user" = $1 FOR UPDATE`, [
      users[0]!.toLowerCase(),
    ])
    let locked = true
    const resolvedWhileLocked: string[] = []
    let firstResolved!: () => void
    const oneResolved = new Promise<void>((resolve) => {
      firstResolved = resolve
    })
    // Each acknowledged append's row, read on another connection the moment it resolves.
    const seenAtAck: Promise<[string, string | undefined, string]>[] = []
    const burst = startBurst(store, {
      meter,
      users,
      perChain: 3,
      prefix: 'pipe',
      onResolved: (id, stored) => {
        if (locked) resolvedWhileLocked.push(id)
        firstResolved()
        seenAtAck.push(
          admin
            .query<{ hash: string }>(`SELECT hash FROM "${schema}".receipts WHERE id = $1`, [id])
            .then(({ rows }) => [id, rows[0]?.hash, stored.hash]),
        )
      },
    })
    await oneResolved
    locked = false
    await locker.query('ROLLBACK')
    locker.release()
    const results = await burst.results
    // Appends were acknowledged while another group was in flight, held by the lock; that group
    // then committed as it was (its receipt was signed once, not retried).
    expect(resolvedWhileLocked.length).toBeGreaterThan(0)
    expect(resolvedWhileLocked.some((id) => id.startsWith('pipe-0-'))).toBe(false)
    expect(burst.heads.get('pipe-0-0')!.length).toBe(1)
    for (const [id, seen, hash] of await Promise.all(seenAtAck))
      expect([id, seen]).toEqual([id, hash])
    const durable = await durableIn(schema)
    expectOnlyResolvedStored(burst, results, durable)
    // Only the faulty receipt is refused; the receipts signed on top of it are signed again.
    const refused = results.flatMap((r, i) => (r.status === 'rejected' ? [burst.ids[i]] : []))
    expect(refused).toEqual([faulty])
    for (const stored of warm) expect(durable.get(stored.id)).toBe(stored.hash)
    expectChainsContinuous(
      await chainsIn(schema),
      meter.address as Address,
      users,
      new Map(users.map((user, u) => [user, u === 7 ? 3 : 4])),
    )
    await store.close()
    await pool.end()
  }, 60_000)

  test('PostgreSQL unreachable while a group commits: its appends reject STORE_UNAVAILABLE (outcome unknown), none is stored, and the chains continue from their stored heads', async () => {
    const { proxy, pool, schema, store, meter, users } = await warmStore({
      readBackTimeoutMs: 300,
    })
    proxy.pause()
    const sent = new Promise((resolve) => pool.once('acquire', resolve))
    const burst = startBurst(store, { meter, users, perChain: 6, prefix: 'down' })
    await sent
    await sleep(100)
    proxy.refuse()
    proxy.cut()
    proxy.resume()
    const results = await burst.results
    for (const result of results) {
      expect(result.status).toBe('rejected')
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'STORE_UNAVAILABLE' })
    }
    expectOnlyResolvedStored(burst, results, await durableIn(schema))
    proxy.accept()
    const after = await appendOnePerChain(store, { meter, users, prefix: 'after' })
    expect(after.map((r) => r.receipt.seq)).toEqual([2, 2, 2, 2])
    expectChainsContinuous(
      await chainsIn(schema),
      meter.address as Address,
      users,
      new Map(users.map((user) => [user, 2])),
    )
    await store.close()
    await pool.end()
    await proxy.close()
  })
})
