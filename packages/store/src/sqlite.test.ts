import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, type ReceiptStore, verifyReceiptChain } from '@rma/core'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, test } from 'vitest'
import { createSqliteStore, type GroupCommitInfo } from './createSqliteStore.js'
import { StoreError } from './errors.js'
import { describeReceiptStore } from './receiptStore.contract.js'
import { runFixture, waitForLines } from './testing/childProcess.js'
import { randomHex, randomWallet, receiptSigner, testDomain } from './testing/receiptSigner.js'

const root = mkdtempSync(join(tmpdir(), 'rma-store-sqlite-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

let files = 0
const paths = new WeakMap<ReceiptStore, string>()

function openAt(path: string): ReceiptStore {
  const store = createSqliteStore({ path })
  paths.set(store, path)
  return store
}

describeReceiptStore('createSqliteStore', () => openAt(join(root, `store-${files++}.db`)), {
  reopen: (closed) => openAt(paths.get(closed)!),
})

describe('createSqliteStore', () => {
  test('creates the directory and opens the file in WAL mode with the schema migrated once', async () => {
    const path = join(root, 'nested', 'deeper', 'receipts.db')
    await createSqliteStore({ path }).close()
    await createSqliteStore({ path }).close()
    const db = new Database(path, { readonly: true })
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.prepare('SELECT version FROM migrations').all()).toEqual([{ version: 1 }])
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

  test('receipts signed on top of one that fails to store are dropped with CHAIN_RESET', async () => {
    const store = createSqliteStore({ path: join(root, 'reset.db') })
    const meter = randomWallet()
    const user = randomHex(20)
    const m = meter.address as Address
    const sign = receiptSigner({ meter, user })
    const first = await store.append({ id: 'first', meter: m, user, sign })
    const results = await Promise.allSettled([
      store.append({
        id: 'clash',
        meter: m,
        user,
        sign: async (head) => ({ ...(await sign(head)), hash: first.hash }),
      }),
      store.append({ id: 'on-top', meter: m, user, sign }),
    ])
    expect(results[1]).toMatchObject({
      status: 'rejected',
      reason: {
        code: 'CHAIN_RESET',
        shortMessage:
          'Receipt "on-top" was dropped: an earlier receipt of its chain failed to store.',
      },
    })
    const next = await store.append({ id: 'next', meter: m, user, sign })
    expect([next.receipt.seq, next.receipt.prev]).toEqual([2, first.hash])
    await store.close()
  })

  test('a transaction that fails as a whole rejects its batch and the chains resume', async () => {
    const path = join(root, 'rollback.db')
    const store = createSqliteStore({ path })
    const db = new Database(path)
    db.exec(`CREATE TRIGGER boom BEFORE INSERT ON receipts WHEN NEW.id = 'boom'
      BEGIN SELECT RAISE(ROLLBACK, 'disk on fire'); END`)
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
          id: id!,
          meter: m,
          user: user as Address,
          sign: receiptSigner({ meter, user: user as Address }),
        }),
      ),
    )
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected'])
    expect(results[1]).toMatchObject({ reason: { message: 'disk on fire' } })
    expect(await store.get('a1')).toBeUndefined()
    db.exec('DROP TRIGGER boom')
    db.close()
    const again = await store.append({
      id: 'a3',
      meter: m,
      user: alice,
      sign: receiptSigner({ meter, user: alice }),
    })
    expect(again.receipt.seq).toBe(1)
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
      shortMessage: 'Database schema version 99 is newer than this @rma/store supports (1).',
    })
  })
})
