import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
import Database from 'better-sqlite3'
import { afterAll, describe, expect, test } from 'vitest'
import { createSqliteStore, type GroupCommitInfo, sqliteWriterOf } from './createSqliteStore.js'
import { StoreError, WriterFailedError } from './errors.js'
import {
  appendOnePerChain,
  expectChainsContinuous,
  expectOnlyResolvedStored,
  startBurst,
} from './groupCommitFailure.contract.js'
import { migrateSqlite, sqliteMigrations } from './internal/sqliteSchema.js'
import { batchRecord, describeReceiptStore } from './receiptStore.contract.js'
import { runFixture, waitForLines } from './testing/childProcess.js'
import { legacyAckEncoding, legacyReceiptEncoding } from './testing/legacyLayout.js'
import {
  ackFor,
  randomHex,
  randomWallet,
  receiptSigner,
  testAssetId,
  testDomain,
} from './testing/receiptSigner.js'

const root = mkdtempSync(join(tmpdir(), 'rma-store-sqlite-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

let files = 0
const paths = new WeakMap<ReceiptStore, string>()

function openAt(path: string): ReceiptStore {
  const store = createSqliteStore({ path, nonceSweepIntervalMs: 20 })
  paths.set(store, path)
  return store
}

describeReceiptStore('createSqliteStore', () => openAt(join(root, `store-${files++}.db`)), {
  reopen: (closed) => openAt(paths.get(closed)!),
  nonceRows: async (store) => {
    const db = new Database(paths.get(store)!, { readonly: true })
    try {
      return db.prepare('SELECT count(*) FROM nonces').pluck().get() as number
    } finally {
      db.close()
    }
  },
})

/**
 * A trigger that rolls back any transaction inserting receipt `id` ('disk on fire'): a failure
 * of the whole group, from inside SQLite. Returns the connection that created it.
 */
function rollBackInsertsOf(path: string, id: string): Database.Database {
  const db = new Database(path)
  db.exec(`CREATE TRIGGER boom BEFORE INSERT ON receipts WHEN NEW.id = '${id}'
    BEGIN SELECT RAISE(ROLLBACK, 'disk on fire'); END`)
  return db
}

describe('createSqliteStore', () => {
  test('creates the directory and opens the file in WAL mode with the schema migrated once', async () => {
    const path = join(root, 'nested', 'deeper', 'receipts.db')
    await createSqliteStore({ path }).close()
    await createSqliteStore({ path }).close()
    const db = new Database(path, { readonly: true })
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.prepare('SELECT version FROM migrations').all()).toEqual([
      { version: 1 },
      { version: 2 },
      { version: 3 },
      { version: 4 },
      { version: 5 },
    ])
    db.close()
  })

  test('group commit: concurrent appends share transactions', async () => {
    const commits: GroupCommitInfo[] = []
    const store = createSqliteStore({
      path: join(root, 'group.db'),
      onCommit: (info) => commits.push(info),
    })
    const meter = randomWallet()
    const users = Array.from({ length: 10 }, () => randomHex(20))
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const user = users[i % 10]!
        return store.append({
          assetId: testAssetId,
          id: `g${i}`,
          meter: meter.address as Address,
          user,
          sign: receiptSigner({ meter, user }),
        })
      }),
    )
    await store.close()
    expect(commits.reduce((sum, c) => sum + c.receipts, 0)).toBe(200)
    expect(commits.length).toBeLessThan(20)
  })

  test('a receipt that fails on its own rejects; the one signed on top of it is signed again on the stored head', async () => {
    const store = createSqliteStore({ path: join(root, 'reset.db') })
    const meter = randomWallet()
    const user = randomHex(20)
    const m = meter.address as Address
    const sign = receiptSigner({ meter, user })
    const first = await store.append({ assetId: testAssetId, id: 'first', meter: m, user, sign })
    const heads: ChainHead[] = []
    const results = await Promise.allSettled([
      store.append({
        assetId: testAssetId,
        id: 'clash',
        meter: m,
        user,
        sign: async (head) => ({ ...(await sign(head)), hash: first.hash }),
      }),
      store.append({
        assetId: testAssetId,
        id: 'on-top',
        meter: m,
        user,
        sign: (head) => {
          heads.push(head)
          return sign(head)
        },
      }),
    ])
    expect(results[0]).toMatchObject({
      status: 'rejected',
      reason: {
        code: 'RECEIPT_CONFLICT',
        shortMessage: `Receipt ${first.hash} is already stored.`,
      },
    })
    const onTop = (results[1] as PromiseFulfilledResult<StoredReceipt>).value
    expect([onTop.receipt.seq, onTop.receipt.prev]).toEqual([2, first.hash])
    // Its last signature was made on the head the store holds, whatever it signed on before.
    expect(heads.at(-1)).toEqual({
      seq: 1,
      hash: first.hash,
      cumulativeAmount: first.receipt.cumulativeAmount,
    })
    const next = await store.append({ assetId: testAssetId, id: 'next', meter: m, user, sign })
    expect([next.receipt.seq, next.receipt.prev]).toEqual([3, onTop.hash])
    expect(await store.get('clash')).toBeUndefined()
    expect(await store.get('on-top')).toEqual(onTop)
    await store.close()
  })

  test('a transaction that fails as a whole: each append is tried again alone, only the faulty one fails', async () => {
    const path = join(root, 'rollback.db')
    const store = createSqliteStore({ path })
    const db = rollBackInsertsOf(path, 'boom')
    const meter = randomWallet()
    const m = meter.address as Address
    const [alice, bob] = [randomHex(20), randomHex(20)]
    const results = await Promise.allSettled(
      [
        ['a1', alice],
        ['boom', bob],
        ['a2', alice],
      ].map(([id, user]) =>
        store.append({
          assetId: testAssetId,
          id: id!,
          meter: m,
          user: user as Address,
          sign: receiptSigner({ meter, user: user as Address }),
        }),
      ),
    )
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(results[1]).toMatchObject({ reason: { message: 'disk on fire' } })
    const [a1, , a2] = results.map((r) => (r as PromiseFulfilledResult<StoredReceipt>).value)
    expect([a1!.receipt.seq, a2!.receipt.seq, a2!.receipt.prev]).toEqual([1, 2, a1!.hash])
    expect(await store.get('a1')).toEqual(a1)
    expect(await store.get('a2')).toEqual(a2)
    expect(await store.get('boom')).toBeUndefined()
    db.exec('DROP TRIGGER boom')
    db.close()
    const again = await store.append({
      assetId: testAssetId,
      id: 'b1',
      meter: m,
      user: bob,
      sign: receiptSigner({ meter, user: bob }),
    })
    expect([again.receipt.seq, again.receipt.prev]).toEqual([1, zeroHash])
    await store.close()
  })

  test('receipts reported stored by a process killed with SIGKILL are all there, gap-free', async () => {
    const path = join(root, 'crash.db')
    const meter = randomWallet()
    const users = [randomHex(20), randomHex(20)]
    const run = runFixture('sqliteAppender', [path, meter.privateKey, ...users])
    await waitForLines(run, 400)
    run.child.kill('SIGKILL')
    await run.exited
    const printed = [...run.lines]
    const store = createSqliteStore({ path })
    for (const id of printed) expect(await store.get(id), id).toBeDefined()
    const stored = (await Promise.all(users.map((user) => store.listByUser({ user })))).flat()
    expect(stored.length).toBeGreaterThanOrEqual(printed.length)
    const { issues, chains } = verifyReceiptChain(
      stored.map((r) => r.receipt),
      [meter.address as Address],
      { domain: testDomain },
    )
    expect(issues).toEqual([])
    expect(chains.map((c) => [c.fromSeq, c.count === c.toSeq])).toEqual([
      [1, true],
      [1, true],
    ])
    await store.close()
  }, 30_000)

  test('nonces claimed by a process killed with SIGKILL stay claimed: a replay after the restart is refused', async () => {
    const path = join(root, 'nonce-crash.db')
    const user = randomHex(20)
    const run = runFixture('sqliteNonceClaimer', [path, user])
    await waitForLines(run, 300)
    run.child.kill('SIGKILL')
    await run.exited
    const printed = [...run.lines]
    const store = createSqliteStore({ path })
    const keepUntil = Math.floor(Date.now() / 1000) + 3600
    for (const nonce of printed)
      expect(
        await store.claimNonce({ assetId: testAssetId, user, nonce: BigInt(nonce), keepUntil }),
        nonce,
      ).toBe(false)
    await store.close()
  }, 30_000)

  test('a database migrated by a newer version is refused', () => {
    const path = join(root, 'newer.db')
    const db = new Database(path)
    db.exec(
      'CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    )
    db.prepare('INSERT INTO migrations VALUES (99, ?, 0)').run('from the future')
    db.close()
    let error: unknown
    try {
      createSqliteStore({ path })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(StoreError)
    expect(error).toMatchObject({
      code: 'SCHEMA_TOO_NEW',
      shortMessage: 'Database schema version 99 is newer than this @rma/store supports (5).',
    })
  })

  test('commits run on the writer thread: a blocked commit does not block the caller', async () => {
    const path = join(root, 'blocked.db')
    const store = createSqliteStore({ path })
    const meter = randomWallet()
    const user = randomHex(20)
    const m = meter.address as Address
    const sign = receiptSigner({ meter, user })
    const first = await store.append({ assetId: testAssetId, id: 'b1', meter: m, user, sign })
    // Another connection holds the write lock: the writer waits for it (busy timeout).
    const other = new Database(path)
    other.exec('BEGIN IMMEDIATE')
    const pending = store.append({ assetId: testAssetId, id: 'b2', meter: m, user, sign })
    let ticks = 0
    const started = performance.now()
    while (performance.now() - started < 150) {
      await sleep(10)
      ticks++
    }
    // The calling thread kept running its timers and its reads meanwhile.
    expect(ticks).toBeGreaterThan(5)
    expect(await store.get('b1')).toEqual(first)
    expect(await store.get('b2')).toBeUndefined()
    other.exec('ROLLBACK')
    other.close()
    const second = await pending
    expect([second.receipt.seq, second.receipt.prev]).toEqual([2, first.hash])
    await store.close()
  })

  test('if the writer thread dies, its pending and later writes reject with WRITER_FAILED', async () => {
    const errors: StoreError[] = []
    const store = createSqliteStore({
      path: join(root, 'writer-dies.db'),
      onError: (error) => errors.push(error),
    })
    const meter = randomWallet()
    const m = meter.address as Address
    const [alice, bob] = [randomHex(20), randomHex(20)]
    const first = await store.append({
      assetId: testAssetId,
      id: 'first',
      meter: m,
      user: alice,
      sign: receiptSigner({ meter, user: alice }),
    })
    const pending = [alice, bob].map((user, i) =>
      store.append({
        assetId: testAssetId,
        id: `pending-${i}`,
        meter: m,
        user,
        sign: receiptSigner({ meter, user }),
      }),
    )
    await sqliteWriterOf(store)!.terminate()
    const results = await Promise.allSettled(pending)
    for (const result of results) {
      expect(result.status).toBe('rejected')
      const reason = (result as PromiseRejectedResult).reason
      expect(reason).toBeInstanceOf(StoreError)
      expect(reason).toMatchObject({
        code: 'WRITER_FAILED',
        shortMessage: 'The SQLite writer thread stopped.',
      })
    }
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ code: 'WRITER_FAILED' })
    expect(errors[0]!.cause).toBeInstanceOf(Error)
    const later = await store
      .append({
        assetId: testAssetId,
        id: 'later',
        meter: m,
        user: bob,
        sign: receiptSigner({ meter, user: bob }),
      })
      .catch((e: unknown) => e)
    expect(later).toBe(errors[0])
    await expect(
      store.saveBatch({
        assetId: testAssetId,
        epoch: 1,
        status: 'built',
        revenue: 1n,
        receiptCount: 1,
        receiptsRoot: randomHex(32),
        rebateRoot: randomHex(32),
        batchUri: 'ipfs://x',
        batchHash: randomHex(32),
        txHash: null,
        createdAt: 1,
      }),
    ).rejects.toMatchObject({ code: 'WRITER_FAILED' })
    // Reads keep working on the calling thread's connection.
    expect(await store.get('first')).toEqual(first)
    await store.close()
    expect(errors).toHaveLength(1)
  })

  test('a writer that stops after committing a group, before its reply: the appends resolve (read back), none says "unstored"', async () => {
    const store = createSqliteStore({ path: join(root, 'lost-reply.db'), onError: () => {} })
    const meter = randomWallet()
    const m = meter.address as Address
    const users = Array.from({ length: 4 }, () => randomHex(20))
    const writer = sqliteWriterOf(store)!
    const send = writer.send.bind(writer)
    // The group commits; its reply is then turned into the thread's failure.
    writer.send = (call, _onReply, onFailure) =>
      send(
        call,
        () => onFailure(new WriterFailedError({ shortMessage: 'stopped before replying' })),
        onFailure,
      )
    const results = await Promise.allSettled(
      users.map((user, i) =>
        store.append({
          assetId: testAssetId,
          id: `c${i}`,
          meter: m,
          user,
          sign: receiptSigner({ meter, user }),
        }),
      ),
    )
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ])
    for (const [i, result] of results.entries()) {
      const stored = (result as PromiseFulfilledResult<Awaited<ReturnType<ReceiptStore['append']>>>)
        .value
      expect(await store.get(`c${i}`)).toEqual(stored)
    }
    writer.send = send
    await store.close()
  })

  test('a version 4 file is migrated to version 5: tag-4 receipts gain zero cacheWriteTokens, priceTable and attestation, keep their hash, and chains continue', async () => {
    const path = join(root, 'v4.db')
    const meter = randomWallet()
    const user = randomHex(20)
    const m = meter.address as Address
    const sign = receiptSigner({ meter, user, amount: 9n })
    const first = await sign({ seq: 0, hash: zeroHash, cumulativeAmount: 0n })
    const second = await sign({ seq: 1, hash: first.hash, cumulativeAmount: 9n })
    const db = new Database(path)
    db.pragma('journal_mode = WAL')
    migrateSqlite(db, sqliteMigrations.slice(0, 4))
    const insert = db.prepare(
      `INSERT INTO receipts (id, hash, asset_id, meter, "user", seq, timestamp, epoch, receipt, cumulative_amount)
       VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
    )
    for (const [id, { receipt, hash }] of Object.entries({ first, second })) {
      const tag4 = legacyReceiptEncoding(receipt, 4)
      expect(Buffer.from(tag4, 'base64url')[0]).toBe(4)
      insert.run(
        id,
        hash,
        testAssetId,
        m.toLowerCase(),
        user.toLowerCase(),
        receipt.seq,
        receipt.timestamp,
        tag4,
        receipt.cumulativeAmount.toString(),
      )
    }
    db.close()

    const store = createSqliteStore({ path })
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
    expect(await store.head(chain)).toEqual({ seq: 2, hash: second.hash, cumulativeAmount: 18n })
    const third = await store.append({ ...chain, id: 'third', sign })
    expect([third.receipt.seq, third.receipt.prev, third.receipt.cumulativeAmount]).toEqual([
      3,
      second.hash,
      27n,
    ])
    await store.close()
    const check = new Database(path, { readonly: true })
    const tags = check
      .prepare('SELECT receipt FROM receipts')
      .pluck()
      .all()
      .map((r) => Buffer.from(r as string, 'base64url')[0])
    expect(tags).toEqual([6, 6, 6])
    check.close()
  })

  test('a version 1 database is migrated to version 5 and its chains continue', async () => {
    const path = join(root, 'v1.db')
    const meter = randomWallet()
    const user = randomHex(20)
    const m = meter.address as Address
    const sign = receiptSigner({ meter, user })
    // A file as @rma/store with schema version 1 left it, holding two receipts.
    const v1 = createSqliteStore({ path: join(root, 'v1-source.db') })
    const a = await v1.append({ assetId: testAssetId, id: 'a', meter: m, user, sign })
    const b = await v1.append({ assetId: testAssetId, id: 'b', meter: m, user, sign })
    await v1.close()
    const source = new Database(join(root, 'v1-source.db'), { readonly: true })
    const rows = source.prepare('SELECT * FROM receipts').all() as Record<string, unknown>[]
    source.close()
    const db = new Database(path)
    db.pragma('journal_mode = WAL')
    migrateSqlite(db, sqliteMigrations.slice(0, 1))
    const insert = db.prepare(
      'INSERT INTO receipts VALUES (@id, @hash, @asset_id, @meter, @user, @seq, @timestamp, @epoch, @receipt)',
    )
    // Version 1 stored receipts in the layout without cumulativeAmount.
    for (const { cumulative_amount: _, ...row } of rows)
      insert.run({ ...row, receipt: legacyReceiptEncoding(decodeReceipt(row.receipt as string)) })
    db.close()

    const store = createSqliteStore({ path })
    const check = new Database(path, { readonly: true })
    expect(check.prepare('SELECT version FROM migrations ORDER BY version').all()).toEqual([
      { version: 1 },
      { version: 2 },
      { version: 3 },
      { version: 4 },
      { version: 5 },
    ])
    expect(
      check
        .prepare("SELECT sql FROM sqlite_master WHERE name = 'receipts_asset_epoch'")
        .pluck()
        .get(),
    ).toBe('CREATE INDEX receipts_asset_epoch ON receipts (asset_id, epoch)')
    check.close()
    expect(await store.get('b')).toEqual(b)
    expect((await store.listUnsettled({ assetId: testAssetId })).map((r) => r.id)).toEqual([
      'a',
      'b',
    ])
    const c = await store.append({ assetId: testAssetId, id: 'c', meter: m, user, sign })
    expect([c.receipt.seq, c.receipt.prev]).toEqual([3, b.hash])
    await store.markSettled({ assetId: testAssetId, epoch: 1, hashes: [a.hash, c.hash] })
    expect(
      (await store.listBatchReceipts({ assetId: testAssetId, epoch: 1 })).map((r) => r.id),
    ).toEqual(['a', 'c'])
    await store.close()
  })

  test("':memory:' is a throwaway file, removed by close()", async () => {
    const before = new Set(readdirSync(tmpdir()))
    const store = createSqliteStore({ path: ':memory:' })
    const created = readdirSync(tmpdir()).filter((name) => !before.has(name))
    expect(created.filter((name) => name.startsWith('rma-store-'))).toHaveLength(1)
    const meter = randomWallet()
    const user = randomHex(20)
    const stored = await store.append({
      assetId: testAssetId,
      id: 'm1',
      meter: meter.address as Address,
      user,
      sign: receiptSigner({ meter, user }),
    })
    expect(await store.get('m1')).toEqual(stored)
    await store.close()
    expect(readdirSync(tmpdir()).filter((name) => created.includes(name))).toEqual([])
  })

  test('an idle store does not keep its process alive', async () => {
    const path = join(root, 'idle.db')
    const meter = randomWallet()
    const user = randomHex(20)
    const run = runFixture('sqliteIdle', [path, meter.privateKey, user])
    const { code, stderr } = await run.exited
    expect([code, stderr]).toEqual([0, ''])
    expect(run.lines).toEqual(['idle-1'])
    const store = createSqliteStore({ path })
    expect((await store.get('idle-1'))?.receipt.seq).toBe(1)
    await store.close()
  }, 30_000)

  test('the writer checkpoints the WAL between commits, so it stays small', async () => {
    const path = join(root, 'wal.db')
    const store = createSqliteStore({ path })
    const meter = randomWallet()
    const users = Array.from({ length: 16 }, () => randomHex(20))
    const sign = new Map(users.map((user) => [user, receiptSigner({ meter, user })]))
    for (let round = 0; round < 120; round++)
      await Promise.all(
        users.map((user, i) =>
          store.append({
            assetId: testAssetId,
            id: `w${round}-${i}`,
            meter: meter.address as Address,
            user,
            sign: sign.get(user)!,
          }),
        ),
      )
    // 1920 receipts: without checkpoints the WAL would hold every page they touched (~16 MB).
    expect(statSync(`${path}-wal`).size).toBeLessThan(8 * 1024 * 1024)
    const check = new Database(path, { readonly: true })
    expect(check.prepare('SELECT count(*) FROM receipts').pluck().get()).toBe(1920)
    check.close()
    await store.close()
  }, 30_000)
})

describe('createSqliteStore fails closed: writes refuse with STORE_UNAVAILABLE, never succeed unstored', () => {
  const meter = randomWallet()
  const m = meter.address as Address

  function appendTo(store: ReceiptStore, id: string, user: Address) {
    return store.append({
      assetId: testAssetId,
      id,
      meter: m,
      user,
      sign: receiptSigner({ meter, user }),
    })
  }

  async function expectUnavailable(promise: Promise<unknown>, message: RegExp): Promise<void> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(StoreError)
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' })
    expect((error as StoreError).shortMessage).toMatch(message)
  }

  test('a read-only file at startup: checkWritable, append, claimNonce, addAck and createBatch refuse; reads work', async () => {
    const dir = join(root, 'read-only')
    const path = join(dir, 'receipts.db')
    const userWallet = randomWallet()
    const user = userWallet.address as Address
    const first = createSqliteStore({ path })
    const stored = await appendTo(first, 'before', user)
    await first.close()
    chmodSync(path, 0o444)
    try {
      const store = createSqliteStore({ path })
      const readOnly = /read-only \(mode 444\)/
      await expectUnavailable(store.checkWritable(), readOnly)
      await expectUnavailable(appendTo(store, 'after', user), readOnly)
      await expectUnavailable(
        store.claimNonce({ assetId: testAssetId, user, nonce: 1n, keepUntil: 2e9 }),
        readOnly,
      )
      await expectUnavailable(
        store.addAck(await ackFor(userWallet, stored.receipt, stored.hash)),
        readOnly,
      )
      await expectUnavailable(store.createBatch(batchRecord(1)), readOnly)
      expect(await store.get('before')).toEqual(stored)
      expect(await store.getBatch(testAssetId, 1)).toBeUndefined()
      expect(await store.get('after')).toBeUndefined()
      await store.close()
    } finally {
      chmodSync(path, 0o644)
    }
    // A read-only file that still needs a migration cannot even be read: refused at open.
    const old = join(dir, 'v2.db')
    const v2 = new Database(old)
    migrateSqlite(v2, sqliteMigrations.slice(0, 2))
    v2.close()
    chmodSync(old, 0o444)
    let refused: unknown
    try {
      createSqliteStore({ path: old })
    } catch (error) {
      refused = error
    }
    expect(refused).toMatchObject({ code: 'STORE_UNAVAILABLE' })
    expect((refused as StoreError).shortMessage).toMatch(
      /is read-only \(mode 444\), and its schema \(version 2\) must be migrated to version 5 first\.$/,
    )
    // Writable again: the chain continues where it was, nothing was lost or skipped.
    const again = createSqliteStore({ path })
    await again.checkWritable()
    const next = await appendTo(again, 'after', user)
    expect([next.receipt.seq, next.receipt.prev]).toEqual([2, stored.hash])
    await again.close()
  })

  test('the store directory removed while open: checkWritable and append refuse, nothing goes to the unlinked file', async () => {
    const dir = join(root, 'removed')
    const path = join(dir, 'receipts.db')
    const user = randomHex(20)
    const store = createSqliteStore({ path })
    await appendTo(store, 'kept', user)
    await store.checkWritable()
    rmSync(dir, { recursive: true, force: true })
    const removed = /was removed while the store was open/
    await expectUnavailable(store.checkWritable(), removed)
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => appendTo(store, `lost-${i}`, user)),
    )
    for (const result of results) {
      expect(result.status).toBe('rejected')
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'STORE_UNAVAILABLE' })
    }
    await expectUnavailable(
      store.claimNonce({ assetId: testAssetId, user, nonce: 1n, keepUntil: 2e9 }),
      removed,
    )
    await store.close()
    // The receipt went with the directory: a store opened there again starts empty, which is
    // why every write after the removal had to be refused rather than reported stored.
    mkdirSync(dir, { recursive: true })
    const fresh = createSqliteStore({ path })
    expect(await fresh.get('kept')).toBeUndefined()
    await fresh.close()
  })

  test('the file replaced by another one while open: writes refuse', async () => {
    const dir = join(root, 'replaced')
    const path = join(dir, 'receipts.db')
    const user = randomHex(20)
    const store = createSqliteStore({ path })
    await appendTo(store, 'a', user)
    const other = createSqliteStore({ path: join(dir, 'other.db') })
    await other.close()
    renameSync(join(dir, 'other.db'), path)
    await expectUnavailable(store.checkWritable(), /was replaced by another file/)
    await expectUnavailable(appendTo(store, 'b', user), /was replaced by another file/)
    await store.close()
  })

  test('a dead writer thread: checkWritable refuses with the writer failure as cause', async () => {
    const store = createSqliteStore({ path: join(root, 'dead-writer.db'), onError: () => {} })
    await store.checkWritable()
    await sqliteWriterOf(store)!.terminate()
    const error = await store.checkWritable().catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      shortMessage: 'The receipt store cannot write: the writer thread stopped.',
    })
    expect((error as StoreError).cause).toMatchObject({ code: 'WRITER_FAILED' })
    await expect(appendTo(store, 'x', randomHex(20))).rejects.toMatchObject({
      code: 'WRITER_FAILED',
    })
    await store.close()
  })

  test('a write lock held past the busy timeout: appends and checkWritable refuse instead of hanging, then recover', async () => {
    const path = join(root, 'locked.db')
    const user = randomHex(20)
    const store = createSqliteStore({ path, busyTimeoutMs: 200 })
    const first = await appendTo(store, 'first', user)
    const other = new Database(path)
    other.exec('BEGIN IMMEDIATE')
    try {
      const busy = /held the write lock past the busy timeout/
      await expectUnavailable(appendTo(store, 'blocked', user), busy)
      await expectUnavailable(store.checkWritable(), busy)
      await expectUnavailable(
        store.claimNonce({ assetId: testAssetId, user, nonce: 5n, keepUntil: 2e9 }),
        busy,
      )
      expect(await store.get('blocked')).toBeUndefined()
    } finally {
      other.exec('ROLLBACK')
      other.close()
    }
    await store.checkWritable()
    const next = await appendTo(store, 'next', user)
    expect([next.receipt.seq, next.receipt.prev]).toEqual([2, first.hash])
    // The refused claim stored nothing: the nonce is still free.
    expect(await store.claimNonce({ assetId: testAssetId, user, nonce: 5n, keepUntil: 2e9 })).toBe(
      true,
    )
    await store.close()
  })

  test('a version 2 file is migrated to version 4: chains split by asset, rows keep their asset, made-up acks dropped, cumulative amounts back-filled per chain', async () => {
    const path = join(root, 'v2.db')
    const userWallet = randomWallet()
    const user = userWallet.address as Address
    const honest = randomWallet()
    const assetY = randomHex(32)
    // What a version 2 store held after calls to X, Y, X: one numbering across both assets.
    const signX = receiptSigner({ meter, user })
    const signY = receiptSigner({ meter, user, assetId: assetY })
    const x1 = await signX({ seq: 0, hash: zeroHash, cumulativeAmount: 0n })
    const y2 = await signY({ seq: 1, hash: x1.hash, cumulativeAmount: 0n })
    const x3 = await signX({ seq: 2, hash: y2.hash, cumulativeAmount: x1.receipt.cumulativeAmount })
    const h1 = await receiptSigner({ meter, user: honest.address as Address })({
      seq: 0,
      hash: zeroHash,
      cumulativeAmount: 0n,
    })
    const db = new Database(path)
    db.pragma('journal_mode = WAL')
    migrateSqlite(db, sqliteMigrations.slice(0, 2))
    const insert = db.prepare(
      `INSERT INTO receipts (id, hash, asset_id, meter, "user", seq, timestamp, epoch, receipt)
       VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
    )
    for (const [id, { receipt, hash }] of Object.entries({ x1, y2, x3, h1 }))
      insert.run(
        id,
        hash,
        receipt.assetId.toLowerCase(),
        receipt.meter.toLowerCase(),
        receipt.user.toLowerCase(),
        receipt.seq,
        receipt.timestamp,
        legacyReceiptEncoding(receipt),
      )
    const insertAck = db.prepare('INSERT INTO acks (meter, "user", seq, ack) VALUES (?, ?, ?, ?)')
    // The attack of issue 12 as version 2 stored it: an ack of seq 2^53 - 1 that names nothing.
    const forged = await ackFor(
      userWallet,
      { ...x3.receipt, seq: Number.MAX_SAFE_INTEGER },
      randomHex(32),
    )
    insertAck.run(m.toLowerCase(), user.toLowerCase(), forged.seq, legacyAckEncoding(forged))
    const genuine = await ackFor(honest, h1.receipt, h1.hash)
    insertAck.run(m.toLowerCase(), honest.address.toLowerCase(), 1, legacyAckEncoding(genuine))
    db.close()

    const store = createSqliteStore({ path })
    const x = { assetId: testAssetId, meter: m, user }
    const y = { assetId: assetY, meter: m, user }
    // Each chain's running total, over its own asset's receipts only.
    expect(await store.head(x)).toEqual({ seq: 3, hash: x3.hash, cumulativeAmount: 2n * 4321n })
    expect(await store.head(y)).toEqual({ seq: 2, hash: y2.hash, cumulativeAmount: 4321n })
    for (const [id, signed] of Object.entries({ x1, y2, x3, h1 }))
      expect((await store.get(id))?.receipt).toEqual(decodeReceipt(encodeReceipt(signed.receipt)))
    expect((await store.get('y2'))?.receipt.assetId).toBe(assetY)
    expect(await store.latestAck(x)).toBeUndefined()
    expect(await store.latestAck({ ...x, user: honest.address as Address })).toEqual(
      decodeAck(encodeAck(genuine)),
    )
    // Each chain continues on its own asset's head.
    const x4 = await appendTo(store, 'x4', user)
    const y3 = await store.append({ ...y, id: 'y3', sign: signY })
    expect([x4.receipt.seq, x4.receipt.prev, y3.receipt.seq, y3.receipt.prev]).toEqual([
      4,
      x3.hash,
      3,
      y2.hash,
    ])
    expect([x4.receipt.cumulativeAmount, y3.receipt.cumulativeAmount]).toEqual([
      3n * 4321n,
      2n * 4321n,
    ])
    await store.close()
  })
})

describe('createSqliteStore failure policy (the group-commit engine): nothing unstored is reported stored, chains stay continuous', () => {
  /** What the file holds durably, read on a connection of its own: id to hash. */
  function durableIn(path: string): Map<string, string> {
    const db = new Database(path, { readonly: true })
    try {
      const rows = db.prepare('SELECT id, hash FROM receipts').all() as {
        id: string
        hash: string
      }[]
      return new Map(rows.map((row) => [row.id, row.hash]))
    } finally {
      db.close()
    }
  }

  /** One more append per chain, then every chain as the file holds it. */
  async function continueChains(
    store: ReceiptStore,
    meter: ReturnType<typeof randomWallet>,
    users: Address[],
  ): Promise<StoredReceipt[]> {
    await appendOnePerChain(store, { meter, users, prefix: 'after' })
    return (await Promise.all(users.map((user) => store.listByUser({ user })))).flat()
  }

  test('commits refused mid-burst (the write lock held elsewhere): what resolved is durable, the rest rejects STORE_UNAVAILABLE unstored, chains continue', async () => {
    const path = join(root, 'policy-busy.db')
    const meter = randomWallet()
    const m = meter.address as Address
    const users = Array.from({ length: 4 }, () => randomHex(20))
    let armed = false
    const other = { db: undefined as Database.Database | undefined }
    const store = createSqliteStore({
      path,
      busyTimeoutMs: 150,
      // Right after the burst's first commit, before the engine sends the next group, another
      // connection takes the write lock for 400 ms: the next commits time out mid-burst.
      onCommit: () => {
        if (!armed) return
        armed = false
        other.db = new Database(path)
        other.db.exec('BEGIN IMMEDIATE')
        setTimeout(() => {
          other.db!.exec('ROLLBACK')
          other.db!.close()
        }, 400)
      },
    })
    await appendOnePerChain(store, { meter, users, prefix: 'warm' })
    armed = true
    const burst = startBurst(store, { meter, users, perChain: 12, prefix: 'busy' })
    const results = await burst.results
    const rejected = results.filter((r) => r.status === 'rejected')
    expect(rejected.length).toBeGreaterThan(0)
    expect(rejected.length).toBeLessThan(results.length)
    for (const result of rejected)
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'STORE_UNAVAILABLE' })
    // A store that cannot write is not retried: those signed on top of a refused receipt reject
    // with it rather than queue more commits that would wait out the busy timeout too.
    expect([...burst.heads.values()].map((heads) => heads.length)).toEqual(burst.ids.map(() => 1))
    await sleep(450) // the lock is released
    const chains = await continueChains(store, meter, users)
    await store.close()
    expectOnlyResolvedStored(burst, results, durableIn(path))
    const expected = new Map(
      users.map((user, u) => [
        user,
        2 +
          results.filter(
            (r, i) => r.status === 'fulfilled' && burst.ids[i]!.startsWith(`busy-${u}-`),
          ).length,
      ]),
    )
    expectChainsContinuous(chains, m, users, expected)
  })

  test('a group rolled back by one receipt (a trigger) mid-burst: only that append fails; the others are signed again on re-read heads, stored, and chains continue', async () => {
    const path = join(root, 'policy-trigger.db')
    const store = createSqliteStore({ path })
    rollBackInsertsOf(path, 'trigger-1-1').close()
    const meter = randomWallet()
    const m = meter.address as Address
    const users = Array.from({ length: 4 }, () => randomHex(20))
    const burst = startBurst(store, { meter, users, perChain: 6, prefix: 'trigger' })
    const results = await burst.results
    results.forEach((result, i) => {
      if (burst.ids[i] === 'trigger-1-1')
        expect(result).toMatchObject({ status: 'rejected', reason: { message: 'disk on fire' } })
      else expect([burst.ids[i], result.status]).toEqual([burst.ids[i], 'fulfilled'])
    })
    // The appends of the rolled-back group were signed a second time, on the stored heads.
    expect([...burst.heads.values()].some((heads) => heads.length === 2)).toBe(true)
    const chains = await continueChains(store, meter, users)
    await store.close()
    expectOnlyResolvedStored(burst, results, durableIn(path))
    expectChainsContinuous(
      chains,
      m,
      users,
      new Map(users.map((user, u) => [user, u === 1 ? 6 : 7])),
    )
  })
})
