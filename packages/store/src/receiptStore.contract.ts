import { setTimeout as sleep } from 'node:timers/promises'
import {
  type Address,
  type BatchRecord,
  type ChainHead,
  type ClaimNonceParameters,
  decodeAck,
  decodeReceipt,
  encodeAck,
  encodeReceipt,
  type Hex,
  type ReceiptStore,
  type SignedUsageReceipt,
  type StoredReceipt,
  verifyReceiptChain,
  zeroHash,
} from '@rma/core'
import type { Wallet } from 'ethers'
import { afterEach, describe, expect, test } from 'vitest'
import { StoreError } from './errors.js'
import {
  ackFor,
  randomHex,
  randomWallet,
  receiptSigner,
  testAssetId,
  testDomain,
} from './testing/receiptSigner.js'

export type DescribeReceiptStoreOptions = {
  /** Opens the storage of a closed store again. Given for persistent stores only. */
  reopen?: (closed: ReceiptStore) => ReceiptStore | Promise<ReceiptStore>
  /** Counts the rows of the store's nonce register (durable stores), to show it is bounded. */
  nonceRows?: (store: ReceiptStore) => Promise<number>
}

/** A batch record of the test asset. */
export function batchRecord(epoch: number, overrides: Partial<BatchRecord> = {}): BatchRecord {
  return {
    assetId: testAssetId,
    epoch,
    status: 'built',
    revenue: 10n ** 30n + 7n,
    receiptCount: 10_000,
    receiptsRoot: randomHex(32),
    rebateRoot: randomHex(32),
    batchUri: `https://batches.example/${epoch}.json`,
    batchHash: randomHex(32),
    txHash: null,
    createdAt: 1_760_000_000_000 + epoch,
    ...overrides,
  }
}

/**
 * The behaviour every {@link ReceiptStore} must have, run against each adapter. `makeStore`
 * returns a fresh, empty store for every test; the suite closes it afterwards.
 */
export function describeReceiptStore(
  name: string,
  makeStore: () => ReceiptStore | Promise<ReceiptStore>,
  options: DescribeReceiptStoreOptions = {},
): void {
  describe(`${name} (ReceiptStore contract)`, () => {
    const opened: ReceiptStore[] = []
    const meter = randomWallet()
    const otherMeter = randomWallet()

    async function open(): Promise<ReceiptStore> {
      const store = await makeStore()
      opened.push(store)
      return store
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()))
    })

    function append(
      store: ReceiptStore,
      id: string,
      user: Address,
      extra: { meter?: Wallet; timestamp?: number; assetId?: Hex } = {},
    ): Promise<StoredReceipt> {
      const signer = extra.meter ?? meter
      return store.append({
        assetId: extra.assetId ?? testAssetId,
        id,
        meter: signer.address as Address,
        user,
        sign: receiptSigner({ ...extra, meter: signer, user }),
      })
    }

    function randomUser(): Address {
      return randomHex(20)
    }

    function ids(receipts: StoredReceipt[]): string[] {
      return receipts.map((r) => r.id)
    }

    test('append allocates seq 1, 2, 3, each signed on the head and linked to the previous hash', async () => {
      const store = await open()
      const user = randomUser()
      const sign = receiptSigner({ meter, user })
      const heads: ChainHead[] = []
      const stored: StoredReceipt[] = []
      for (const id of ['call-1', 'call-2', 'call-3'])
        stored.push(
          await store.append({
            assetId: testAssetId,
            id,
            meter: meter.address as Address,
            user,
            sign: (head) => {
              heads.push(head)
              return sign(head)
            },
          }),
        )
      const [first, second, third] = stored as [StoredReceipt, StoredReceipt, StoredReceipt]
      expect(heads).toEqual([
        { seq: 0, hash: zeroHash, cumulativeAmount: 0n },
        { seq: 1, hash: first.hash, cumulativeAmount: first.receipt.cumulativeAmount },
        { seq: 2, hash: second.hash, cumulativeAmount: second.receipt.cumulativeAmount },
      ])
      expect(third.receipt.cumulativeAmount).toBe(
        first.receipt.amount + second.receipt.amount + third.receipt.amount,
      )
      expect(stored.map((s) => [s.id, s.receipt.seq, s.receipt.prev, s.epoch])).toEqual([
        ['call-1', 1, zeroHash, null],
        ['call-2', 2, first.hash, null],
        ['call-3', 3, second.hash, null],
      ])
      const verified = verifyReceiptChain(
        stored.map((s) => s.receipt),
        [meter.address as Address],
        { domain: testDomain },
      )
      expect(verified.issues).toEqual([])
      expect(verified.hashes).toEqual(stored.map((s) => s.hash))
      expect(
        await store.head({ assetId: testAssetId, meter: meter.address as Address, user: user }),
      ).toEqual({
        seq: 3,
        hash: third.hash,
        cumulativeAmount: third.receipt.cumulativeAmount,
      })
    })

    test('head is seq 0 and the zero hash for an empty chain, and ignores address case', async () => {
      const store = await open()
      const user = randomUser()
      expect(
        await store.head({ assetId: testAssetId, meter: meter.address as Address, user: user }),
      ).toEqual({ seq: 0, hash: zeroHash, cumulativeAmount: 0n })
      const stored = await append(store, 'a', user)
      const upper = `0x${user.slice(2).toUpperCase()}` as Address
      expect(
        await store.head({
          assetId: testAssetId,
          meter: meter.address.toLowerCase() as Address,
          user: upper,
        }),
      ).toEqual({
        seq: 1,
        hash: stored.hash,
        cumulativeAmount: stored.receipt.cumulativeAmount,
      })
    })

    test('200 concurrent appends across 10 users leave every chain gap-free and validly linked', async () => {
      const store = await open()
      const users = Array.from({ length: 10 }, randomUser)
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => append(store, `call-${i}`, users[i % 10]!)),
      )
      expect(new Set(results.map((r) => r.hash)).size).toBe(200)
      const stored = (await Promise.all(users.map((user) => store.listByUser({ user })))).flat()
      expect(stored).toHaveLength(200)
      const { issues, chains } = verifyReceiptChain(
        stored.map((s) => s.receipt),
        [meter.address as Address],
        { domain: testDomain },
      )
      expect(issues).toEqual([])
      expect(chains.map((c) => [c.fromSeq, c.toSeq, c.count])).toEqual(
        Array.from({ length: 10 }, () => [1, 20, 20]),
      )
      for (const user of users)
        expect(
          (await store.head({ assetId: testAssetId, meter: meter.address as Address, user: user }))
            .seq,
        ).toBe(20)
    })

    test('sign runs one at a time per chain and concurrently across chains', async () => {
      const store = await open()
      const users = Array.from({ length: 4 }, randomUser)
      const active = new Map<string, number>()
      let maxPerChain = 0
      let total = 0
      let maxTotal = 0
      await Promise.all(
        Array.from({ length: 16 }, (_, i) => {
          const user = users[i % users.length]!
          const sign = receiptSigner({ meter, user })
          return store.append({
            assetId: testAssetId,
            id: `slow-${i}`,
            meter: meter.address as Address,
            user,
            sign: async (head) => {
              active.set(user, (active.get(user) ?? 0) + 1)
              total++
              maxPerChain = Math.max(maxPerChain, active.get(user)!)
              maxTotal = Math.max(maxTotal, total)
              await sleep(3)
              active.set(user, active.get(user)! - 1)
              total--
              return sign(head)
            },
          })
        }),
      )
      expect(maxPerChain).toBe(1)
      expect(maxTotal).toBeGreaterThan(1)
    })

    test('a sign callback that throws stores nothing and does not consume a seq', async () => {
      const store = await open()
      const user = randomUser()
      const first = await append(store, 'first', user)
      const failure = new Error('signer offline')
      await expect(
        store.append({
          assetId: testAssetId,
          id: 'second',
          meter: meter.address as Address,
          user,
          sign: async () => {
            throw failure
          },
        }),
      ).rejects.toBe(failure)
      expect(await store.get('second')).toBeUndefined()
      expect(
        await store.head({ assetId: testAssetId, meter: meter.address as Address, user: user }),
      ).toEqual({ seq: 1, hash: first.hash, cumulativeAmount: first.receipt.cumulativeAmount })
      const second = await append(store, 'second', user)
      expect([second.receipt.seq, second.receipt.prev]).toEqual([2, first.hash])
    })

    test('a signed receipt that does not extend the head is rejected and stores nothing', async () => {
      const store = await open()
      const user = randomUser()
      const first = await append(store, 'first', user)
      const sign = receiptSigner({ meter, user })
      const error = await store
        .append({
          assetId: testAssetId,
          id: 'skip',
          meter: meter.address as Address,
          user,
          sign: (head) => sign({ ...head, seq: head.seq + 1 }),
        })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StoreError)
      expect(error).toMatchObject({
        code: 'INVALID_RECEIPT',
        shortMessage: 'Signed receipt does not extend the chain head (seq 1).',
      })
      expect(await store.get('skip')).toBeUndefined()
      expect(
        await store.head({ assetId: testAssetId, meter: meter.address as Address, user: user }),
      ).toEqual({ seq: 1, hash: first.hash, cumulativeAmount: first.receipt.cumulativeAmount })
    })

    test('a receipt whose cumulativeAmount is not the head’s plus its amount is rejected', async () => {
      const store = await open()
      const user = randomUser()
      const first = await append(store, 'first', user)
      expect(first.receipt.cumulativeAmount).toBe(first.receipt.amount)
      const sign = receiptSigner({ meter, user })
      for (const [id, skew] of [
        ['low', -1n],
        ['high', 1n],
      ] as const) {
        const error = await store
          .append({
            assetId: testAssetId,
            id,
            meter: meter.address as Address,
            user,
            // Signed on a head that claims a different running total.
            sign: (head) => sign({ ...head, cumulativeAmount: head.cumulativeAmount + skew }),
          })
          .catch((e: unknown) => e)
        expect(error).toMatchObject({ name: 'InvalidReceiptError', code: 'INVALID_RECEIPT' })
        expect(await store.get(id)).toBeUndefined()
      }
      const second = await append(store, 'second', user)
      expect(second.receipt.cumulativeAmount).toBe(
        first.receipt.cumulativeAmount + second.receipt.amount,
      )
      expect(
        await store.head({ assetId: testAssetId, meter: meter.address as Address, user }),
      ).toEqual({ seq: 2, hash: second.hash, cumulativeAmount: second.receipt.cumulativeAmount })
    })

    describe('prepaid coverage: listChains, reserve, release', () => {
      const amount = 4321n // what receiptSigner charges per receipt
      const reserveOf = (
        user: Address,
        id: string,
        extra: Partial<Parameters<ReceiptStore['reserve']>[0]> = {},
      ): Parameters<ReceiptStore['reserve']>[0] => ({
        id,
        chain: { assetId: testAssetId, meter: meter.address as Address, user },
        assets: [testAssetId],
        amount: 1000n,
        limit: 100_000n,
        settled: new Map(),
        expiresAt: Date.now() + 60_000,
        ...extra,
      })

      test('listChains: the user’s chains with their heads, every asset and meter', async () => {
        const store = await open()
        const user = randomUser()
        const assetY = randomHex(32)
        expect(await store.listChains({ user })).toEqual([])
        await append(store, 'a1', user)
        const a2 = await append(store, 'a2', user)
        const y1 = await append(store, 'y1', user, { assetId: assetY })
        const m1 = await append(store, 'm1', user, { meter: otherMeter })
        await append(store, 'other', randomUser())
        const chains = await store.listChains({ user: user.toUpperCase() as Address })
        const byKey = (c: { assetId: string; meter: string }) => `${c.assetId}:${c.meter}`
        expect([...chains].sort((a, b) => byKey(a).localeCompare(byKey(b)))).toEqual(
          [
            [testAssetId, meter, a2],
            [assetY, meter, y1],
            [testAssetId, otherMeter, m1],
          ]
            .map(([assetId, m, r]) => ({
              assetId: (assetId as string).toLowerCase(),
              meter: (m as Wallet).address.toLowerCase(),
              user: user.toLowerCase(),
              seq: (r as StoredReceipt).receipt.seq,
              hash: (r as StoredReceipt).hash,
              cumulativeAmount: (r as StoredReceipt).receipt.cumulativeAmount,
            }))
            .sort((a, b) => byKey(a).localeCompare(byKey(b))),
        )
      })

      test('reserve counts pending (head minus settled, per chain at the given assets) and holds; refuses past the limit', async () => {
        const store = await open()
        const user = randomUser()
        const assetY = randomHex(32)
        await append(store, 'x1', user)
        await append(store, 'x2', user) // chain X owes 2 × 4321
        await append(store, 'y1', user, { assetId: assetY }) // another token's asset: not counted
        const key = `${testAssetId.toLowerCase()}:${meter.address.toLowerCase()}:${user.toLowerCase()}`
        const settled = new Map([[key, amount]]) // receipt 1 settled on chain
        // pending = 4321; limit 6321 leaves room for 2000 exactly.
        const first = await store.reserve(
          reserveOf(user, 'r1', { settled, limit: amount + 2000n, amount: 1500n }),
        )
        expect(first).toEqual({ reserved: true, pending: amount, held: 0n, unacked: 2 })
        const refused = await store.reserve(
          reserveOf(user, 'r2', { settled, limit: amount + 2000n, amount: 501n }),
        )
        expect(refused).toEqual({
          reserved: false,
          reason: 'balance',
          pending: amount,
          held: 1500n,
          unacked: 3,
        })
        expect(
          await store.reserve(
            reserveOf(user, 'r3', { settled, limit: amount + 2000n, amount: 500n }),
          ),
        ).toMatchObject({ reserved: true, held: 1500n })
        // Without the settled map every receipt of chain X is pending.
        expect(await store.reserve(reserveOf(user, 'r4', { limit: 2n * amount + 2000n }))).toEqual({
          reserved: false,
          reason: 'balance',
          pending: 2n * amount,
          held: 2000n,
          unacked: 4,
        })
        // Released holds stop counting; releasing twice is harmless.
        await store.release('r1')
        await store.release('r1')
        await store.release('never-reserved')
        expect(
          await store.reserve(
            reserveOf(user, 'r5', { settled, limit: amount + 2000n, amount: 1500n }),
          ),
        ).toMatchObject({ reserved: true, held: 500n })
        // Another user's holds are its own.
        expect(await store.reserve(reserveOf(randomUser(), 'r6', { limit: 1000n }))).toMatchObject({
          reserved: true,
          pending: 0n,
          held: 0n,
        })
      })

      test('expired reservations no longer count', async () => {
        const store = await open()
        const user = randomUser()
        await store.listChains({ user }) // opened (a new schema is migrated on first use)
        expect(
          await store.reserve(
            reserveOf(user, 'gone', { expiresAt: Date.now() + 300, limit: 1000n }),
          ),
        ).toMatchObject({ reserved: true })
        expect(await store.reserve(reserveOf(user, 'no', { limit: 1000n }))).toMatchObject({
          reserved: false,
          held: 1000n,
        })
        await sleep(600)
        expect(await store.reserve(reserveOf(user, 'yes', { limit: 1000n }))).toMatchObject({
          reserved: true,
          held: 0n,
        })
      })

      test('maxUnacked: the chain’s receipts after its latest ack plus its calls in flight', async () => {
        const store = await open()
        const userWallet = randomWallet()
        const user = userWallet.address as Address
        const r1 = await append(store, 'u1', user)
        await append(store, 'u2', user)
        // 2 unacked receipts: a bound of 3 admits one call in flight, then refuses.
        expect(await store.reserve(reserveOf(user, 'k1', { maxUnacked: 3 }))).toMatchObject({
          reserved: true,
          unacked: 2,
        })
        expect(await store.reserve(reserveOf(user, 'k2', { maxUnacked: 3 }))).toEqual({
          reserved: false,
          reason: 'unacked',
          pending: 2n * amount,
          held: 1000n,
          unacked: 3,
        })
        await store.addAck(await ackFor(userWallet, r1.receipt, r1.hash))
        expect(await store.reserve(reserveOf(user, 'k3', { maxUnacked: 3 }))).toMatchObject({
          reserved: true,
          unacked: 2,
        })
      })

      test('50 concurrent reservations against one limit: exactly as many as fit are reserved', async () => {
        const store = await open()
        const user = randomUser()
        await append(store, 'c1', user)
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.reserve(reserveOf(user, `c-${i}`, { amount: 100n, limit: amount + 2000n })),
          ),
        )
        expect(results.filter((r) => r.reserved)).toHaveLength(20)
        const refused = results.filter((r) => !r.reserved)
        expect(refused.every((r) => r.reason === 'balance' && r.pending === amount)).toBe(true)
        expect(refused.every((r) => r.held === 2000n)).toBe(true)
      })
    })

    test('a duplicate id is rejected, keeps the first receipt and consumes no seq', async () => {
      const store = await open()
      const [alice, bob] = [randomUser(), randomUser()]
      const first = await append(store, 'dup', alice)
      const error = await append(store, 'dup', bob).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StoreError)
      expect(error).toMatchObject({
        code: 'DUPLICATE_RECEIPT_ID',
        shortMessage: 'Receipt id "dup" is already taken.',
      })
      expect(await store.get('dup')).toEqual(first)
      expect(
        await store.head({ assetId: testAssetId, meter: meter.address as Address, user: bob }),
      ).toEqual({ seq: 0, hash: zeroHash, cumulativeAmount: 0n })
      expect((await append(store, 'bob-1', bob)).receipt.seq).toBe(1)
    })

    test('a receipt whose hash is already stored is rejected and the chain stays intact', async () => {
      const store = await open()
      const user = randomUser()
      const first = await append(store, 'first', user)
      const sign = receiptSigner({ meter, user })
      const [clash, concurrent] = await Promise.allSettled([
        store.append({
          assetId: testAssetId,
          id: 'clash',
          meter: meter.address as Address,
          user,
          sign: async (head) => ({ ...(await sign(head)), hash: first.hash }),
        }),
        append(store, 'concurrent', user),
      ])
      expect(clash).toMatchObject({
        status: 'rejected',
        reason: {
          code: 'RECEIPT_CONFLICT',
          shortMessage: `Receipt ${first.hash} is already stored.`,
        },
      })
      // Signed on top of the clashing receipt (SQLite pipelines signing) or after it failed.
      if (concurrent.status === 'rejected')
        expect(concurrent.reason).toMatchObject({ code: 'CHAIN_RESET' })
      expect(await store.get('clash')).toBeUndefined()
      const next = await append(store, 'next', user)
      const chain = await store.listByUser({ user })
      expect(chain.map((r) => r.receipt.seq)).toEqual(chain.map((_, i) => i + 1))
      expect(chain.at(-1)).toEqual(next)
      const { issues } = verifyReceiptChain(
        chain.map((r) => r.receipt),
        [meter.address as Address],
        { domain: testDomain },
      )
      expect(issues).toEqual([])
    })

    test('two concurrent appends with one id: exactly one is stored', async () => {
      const store = await open()
      const results = await Promise.allSettled([
        append(store, 'same', randomUser()),
        append(store, 'same', randomUser()),
      ])
      const fulfilled = results.filter((r) => r.status === 'fulfilled')
      const rejected = results.filter((r) => r.status === 'rejected')
      expect(fulfilled).toHaveLength(1)
      expect(rejected.map((r) => (r.reason as StoreError).code)).toEqual(['DUPLICATE_RECEIPT_ID'])
      expect(await store.get('same')).toEqual(fulfilled[0]!.value)
    })

    test('get and getByHash return the stored receipt decoded, looked up case-insensitively', async () => {
      const store = await open()
      const user = randomUser()
      const sign = receiptSigner({ meter, user })
      let signed: SignedUsageReceipt | undefined
      const stored = await store.append({
        assetId: testAssetId,
        id: 'call-x',
        meter: meter.address as Address,
        user,
        sign: async (head) => {
          const result = await sign(head)
          signed = result.receipt
          return result
        },
      })
      expect(stored.receipt).toEqual(decodeReceipt(encodeReceipt(signed!)))
      expect(stored.receipt.meter).toBe(meter.address.toLowerCase())
      expect(await store.get('call-x')).toEqual(stored)
      const upperHash = `0x${stored.hash.slice(2).toUpperCase()}` as Hex
      expect(await store.getByHash(upperHash)).toEqual(stored)
      expect(await store.get('call-y')).toBeUndefined()
      expect(await store.getByHash(randomHex(32))).toBeUndefined()
    })

    test('listByUser: from inclusive, to exclusive, oldest first, limited, per user', async () => {
      const store = await open()
      const [user, other] = [randomUser(), randomUser()]
      await append(store, 'a100', user, { timestamp: 100 })
      await append(store, 'a300', user, { timestamp: 300 })
      await append(store, 'a400', user, { timestamp: 400 })
      await append(store, 'b200', user, { timestamp: 200, meter: otherMeter })
      await append(store, 'b250', user, { timestamp: 250, meter: otherMeter })
      await append(store, 'o200', other, { timestamp: 200 })
      expect(ids(await store.listByUser({ user }))).toEqual([
        'a100',
        'b200',
        'b250',
        'a300',
        'a400',
      ])
      expect(ids(await store.listByUser({ user, from: 200, to: 300 }))).toEqual(['b200', 'b250'])
      expect(ids(await store.listByUser({ user, from: 250 }))).toEqual(['b250', 'a300', 'a400'])
      expect(ids(await store.listByUser({ user, from: 200, limit: 2 }))).toEqual(['b200', 'b250'])
      expect(ids(await store.listByUser({ user, to: 100 }))).toEqual([])
      const upper = `0x${other.slice(2).toUpperCase()}` as Address
      expect(ids(await store.listByUser({ user: upper }))).toEqual(['o200'])
    })

    test('listUnsettled: one asset, unsettled only, in (meter, user, seq) order, limited', async () => {
      const store = await open()
      const users = [randomUser(), randomUser()]
      const all: StoredReceipt[] = []
      for (const signer of [meter, otherMeter])
        for (const user of users)
          for (let i = 0; i < 2; i++)
            all.push(await append(store, `${signer.address}-${user}-${i}`, user, { meter: signer }))
      await append(store, 'other-asset', users[0]!, {
        meter: randomWallet(),
        assetId: randomHex(32),
      })
      const expected = [...all].sort(
        (a, b) =>
          compare(a.receipt.meter, b.receipt.meter) ||
          compare(a.receipt.user, b.receipt.user) ||
          a.receipt.seq - b.receipt.seq,
      )
      expect(ids(await store.listUnsettled({ assetId: testAssetId }))).toEqual(ids(expected))
      expect(ids(await store.listUnsettled({ assetId: testAssetId, limit: 3 }))).toEqual(
        ids(expected.slice(0, 3)),
      )
      await store.markSettled({ assetId: testAssetId, epoch: 1, hashes: [expected[0]!.hash] })
      expect(ids(await store.listUnsettled({ assetId: testAssetId }))).toEqual(
        ids(expected.slice(1)),
      )
    })

    test('markSettled assigns an epoch, listBatchReceipts returns it in chain order, re-marking is idempotent', async () => {
      const store = await open()
      const [alice, bob] = [randomUser(), randomUser()]
      const a1 = await append(store, 'a1', alice)
      const b1 = await append(store, 'b1', bob)
      const a2 = await append(store, 'a2', alice)
      const rest = await append(store, 'a3', alice)
      const hashes = [a2.hash, b1.hash, a1.hash]
      await store.markSettled({ assetId: testAssetId, epoch: 1, hashes })
      const expected = [a1, a2, b1].sort((x, y) => compare(x.receipt.user, y.receipt.user))
      const batch = await store.listBatchReceipts({ assetId: testAssetId, epoch: 1 })
      expect(ids(batch)).toEqual(ids(expected))
      expect(batch.map((r) => r.epoch)).toEqual([1, 1, 1])
      await store.markSettled({
        assetId: testAssetId.toUpperCase().replace('0X', '0x') as Hex,
        epoch: 1,
        hashes: [a1.hash.toUpperCase().replace('0X', '0x') as Hex, a1.hash],
      })
      expect(ids(await store.listBatchReceipts({ assetId: testAssetId, epoch: 1 }))).toEqual(
        ids(expected),
      )
      expect((await store.get('a3'))?.epoch).toBe(null)
      expect(ids(await store.listUnsettled({ assetId: testAssetId }))).toEqual([rest.id])
    })

    test('markSettled is atomic: a receipt settled in another epoch fails the whole call', async () => {
      const store = await open()
      const user = randomUser()
      const a = await append(store, 'a', user)
      const b = await append(store, 'b', user)
      await store.markSettled({ assetId: testAssetId, epoch: 1, hashes: [a.hash] })
      const error = await store
        .markSettled({ assetId: testAssetId, epoch: 2, hashes: [b.hash, a.hash] })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StoreError)
      expect(error).toMatchObject({
        code: 'RECEIPT_CONFLICT',
        shortMessage: `Receipt ${a.hash} is already settled in epoch 1.`,
        details: 'Nothing was marked settled in epoch 2.',
      })
      expect((await store.get('b'))?.epoch).toBe(null)
      expect(await store.listBatchReceipts({ assetId: testAssetId, epoch: 2 })).toEqual([])
    })

    test('markSettled is atomic: an unknown hash or another asset’s receipt fails the whole call', async () => {
      const store = await open()
      const user = randomUser()
      const a = await append(store, 'a', user)
      const foreign = await append(store, 'f', user, {
        meter: otherMeter,
        assetId: randomHex(32),
      })
      const unknown = randomHex(32)
      for (const hash of [unknown, foreign.hash]) {
        const error = await store
          .markSettled({ assetId: testAssetId, epoch: 1, hashes: [a.hash, hash] })
          .catch((e: unknown) => e)
        expect(error).toBeInstanceOf(StoreError)
        expect(error).toMatchObject({
          code: 'UNKNOWN_RECEIPT',
          shortMessage: `Receipt ${hash} is not a receipt of asset ${testAssetId}.`,
        })
      }
      expect((await store.get('a'))?.epoch).toBe(null)
      expect((await store.get('f'))?.epoch).toBe(null)
    })

    test('concurrent markSettled of the same receipts into two epochs: exactly one wins', async () => {
      const store = await open()
      const user = randomUser()
      const hashes: Hex[] = []
      for (let i = 0; i < 5; i++) hashes.push((await append(store, `r${i}`, user)).hash)
      const results = await Promise.allSettled([
        store.markSettled({ assetId: testAssetId, epoch: 1, hashes }),
        store.markSettled({ assetId: testAssetId, epoch: 2, hashes: [...hashes].reverse() }),
      ])
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      const rejected = results.filter((r) => r.status === 'rejected')
      expect(rejected.map((r) => (r.reason as StoreError).code)).toEqual(['RECEIPT_CONFLICT'])
      const epochs = await Promise.all(
        [1, 2].map(
          async (epoch) => (await store.listBatchReceipts({ assetId: testAssetId, epoch })).length,
        ),
      )
      expect(epochs.sort()).toEqual([0, 5])
    })

    test('acks: the latest seq per chain is kept; older and equal seqs are ignored', async () => {
      const store = await open()
      const userWallet = randomWallet()
      const user = userWallet.address as Address
      const chain = { assetId: testAssetId, meter: meter.address as Address, user }
      const receipts: StoredReceipt[] = []
      for (let i = 1; i <= 3; i++) receipts.push(await append(store, `r${i}`, user))
      const ackOf = (r: StoredReceipt) => ackFor(userWallet, r.receipt, r.hash)
      const [ack2, ack3, ack1] = await Promise.all(
        receipts.slice(1).concat(receipts[0]!).map(ackOf),
      )
      expect(await store.latestAck(chain)).toBeUndefined()
      await store.addAck(ack2!)
      expect(await store.latestAck(chain)).toEqual(decodeAck(encodeAck(ack2!)))
      await store.addAck(ack3!)
      await store.addAck(ack1!)
      await store.addAck(ack3!)
      const lowerCase = {
        assetId: testAssetId.toUpperCase().replace('0X', '0x') as Hex,
        meter: meter.address.toLowerCase() as Address,
        user: user.toLowerCase() as Address,
      }
      expect(await store.latestAck(lowerCase)).toEqual(decodeAck(encodeAck(ack3!)))
    })

    test('an ack naming no stored receipt is refused, stores nothing and never supersedes a genuine ack', async () => {
      const store = await open()
      const userWallet = randomWallet()
      const user = userWallet.address as Address
      const chain = { assetId: testAssetId, meter: meter.address as Address, user }
      const r1 = await append(store, 'r1', user)
      const r2 = await append(store, 'r2', user)
      const other = await append(store, 'other', randomUser())
      const genuine = await ackFor(userWallet, r1.receipt, r1.hash)
      await store.addAck(genuine)
      const forged = [
        // The attack of issue 12: seq 2^53 - 1, which would override every later genuine ack.
        await ackFor(userWallet, { ...r1.receipt, seq: Number.MAX_SAFE_INTEGER }, randomHex(32)),
        await ackFor(userWallet, { ...r1.receipt, seq: Number.MAX_SAFE_INTEGER }, r1.hash),
        await ackFor(userWallet, r2.receipt, randomHex(32)),
        await ackFor(userWallet, { ...r2.receipt, seq: 3 }, r2.hash),
        await ackFor(userWallet, r2.receipt, other.hash),
        await ackFor(userWallet, { ...r2.receipt, assetId: randomHex(32) }, r2.hash),
        // A voucher for less (or more) than the receipt's running total.
        await ackFor(
          userWallet,
          { ...r2.receipt, cumulativeAmount: r2.receipt.cumulativeAmount - 1n },
          r2.hash,
        ),
        await ackFor(
          userWallet,
          { ...r2.receipt, cumulativeAmount: r2.receipt.cumulativeAmount + 1n },
          r2.hash,
        ),
      ]
      for (const ack of forged) {
        const error = await store.addAck(ack).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(StoreError)
        expect(error).toMatchObject({ code: 'ACK_UNKNOWN_RECEIPT' })
        expect(await store.latestAck(chain)).toEqual(decodeAck(encodeAck(genuine)))
      }
      expect(await store.latestAck({ ...chain, assetId: forged[5]!.assetId })).toBeUndefined()
      // The genuine ack of the next receipt still supersedes.
      const next = await ackFor(userWallet, r2.receipt, r2.hash)
      await store.addAck(next)
      expect(await store.latestAck(chain)).toEqual(decodeAck(encodeAck(next)))
    })

    test('one meter key serving two assets keeps one chain per asset: calls X, Y, X give X seq 1, 2 and Y seq 1 (M4)', async () => {
      const store = await open()
      const userWallet = randomWallet()
      const user = userWallet.address as Address
      const assetY = randomHex(32)
      const x1 = await append(store, 'x1', user)
      const y1 = await append(store, 'y1', user, { assetId: assetY })
      const x2 = await append(store, 'x2', user)
      expect([x1, y1, x2].map((r) => [r.receipt.assetId, r.receipt.seq, r.receipt.prev])).toEqual([
        [testAssetId, 1, zeroHash],
        [assetY, 1, zeroHash],
        [testAssetId, 2, x1.hash],
      ])
      const m = meter.address as Address
      expect(await store.head({ assetId: testAssetId, meter: m, user })).toEqual({
        seq: 2,
        hash: x2.hash,
        cumulativeAmount: x1.receipt.amount + x2.receipt.amount,
      })
      expect(await store.head({ assetId: assetY, meter: m, user })).toEqual({
        seq: 1,
        hash: y1.hash,
        cumulativeAmount: y1.receipt.amount,
      })
      // Each asset's settlement sees a gap-free chain of its own receipts.
      for (const assetId of [testAssetId, assetY]) {
        const unsettled = await store.listUnsettled({ assetId })
        const { issues } = verifyReceiptChain(
          unsettled.map((r) => r.receipt),
          [m],
          { domain: testDomain },
        )
        expect(issues).toEqual([])
      }
      expect(ids(await store.listUnsettled({ assetId: testAssetId }))).toEqual(['x1', 'x2'])
      expect(ids(await store.listUnsettled({ assetId: assetY }))).toEqual(['y1'])
      // Acks are per asset too: Y's ack of seq 1 does not touch X's chain.
      await store.addAck(await ackFor(userWallet, x2.receipt, x2.hash))
      await store.addAck(await ackFor(userWallet, y1.receipt, y1.hash))
      expect((await store.latestAck({ assetId: testAssetId, meter: m, user }))?.seq).toBe(2)
      expect((await store.latestAck({ assetId: assetY, meter: m, user }))?.seq).toBe(1)
    })

    test('claimNonce: true once per (asset, user, nonce), false on every later claim', async () => {
      const store = await open()
      const user = randomUser()
      const keepUntil = Math.floor(Date.now() / 1000) + 3600
      const nonce = 2n ** 256n - 1n
      const claim = (overrides: Partial<ClaimNonceParameters> = {}) =>
        store.claimNonce({ assetId: testAssetId, user, nonce, keepUntil, ...overrides })
      expect(await claim()).toBe(true)
      expect(await claim()).toBe(false)
      // Case does not make another nonce; a longer keepUntil does not either.
      expect(await claim({ user: user.toUpperCase().replace('0X', '0x') as Address })).toBe(false)
      expect(await claim({ keepUntil: keepUntil + 10_000 })).toBe(false)
      // Another asset, user or nonce is another claim.
      expect(await claim({ assetId: randomHex(32) })).toBe(true)
      expect(await claim({ user: randomUser() })).toBe(true)
      expect(await claim({ nonce: nonce - 1n })).toBe(true)
      expect(await claim({ nonce: 0n })).toBe(true)
      expect(await claim({ nonce: 0n })).toBe(false)
    })

    test('claimNonce: 20 concurrent claims of one nonce, exactly one is true', async () => {
      const store = await open()
      const user = randomUser()
      const keepUntil = Math.floor(Date.now() / 1000) + 3600
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          store.claimNonce({ assetId: testAssetId, user, nonce: 42n, keepUntil }),
        ),
      )
      expect(results.filter(Boolean)).toHaveLength(1)
    })

    test('claimNonce: expired nonces are swept, unexpired ones are kept (the register stays bounded)', async () => {
      const store = await open()
      const user = randomUser()
      const now = Math.floor(Date.now() / 1000)
      const live = [1n, 2n, 3n]
      const expired = Array.from({ length: 50 }, (_, i) => BigInt(1000 + i))
      for (const nonce of live)
        expect(
          await store.claimNonce({ assetId: testAssetId, user, nonce, keepUntil: now + 3600 }),
        ).toBe(true)
      for (const nonce of expired)
        expect(
          await store.claimNonce({ assetId: testAssetId, user, nonce, keepUntil: now - 60 }),
        ).toBe(true)
      // Claims keep coming (refused replays of a live nonce) until a sweep has run.
      const deadline = Date.now() + 15_000
      for (;;) {
        expect(
          await store.claimNonce({ assetId: testAssetId, user, nonce: 1n, keepUntil: now + 3600 }),
        ).toBe(false)
        const rows = options.nonceRows ? await options.nonceRows(store) : undefined
        if (rows === undefined || rows === live.length) break
        if (Date.now() > deadline)
          throw new Error(`${rows} nonce rows left, expected ${live.length}`)
        await sleep(25)
      }
      if (!options.nonceRows) await sleep(50)
      // Forgotten once past keepUntil (the meter refuses such attestations as expired anyway)...
      let forgotten = false
      for (let i = 0; i < 200 && !forgotten; i++) {
        forgotten = await store.claimNonce({
          assetId: testAssetId,
          user,
          nonce: expired[0]!,
          keepUntil: now - 60,
        })
        if (!forgotten) await sleep(25)
      }
      expect(forgotten).toBe(true)
      // ...while every unexpired nonce is still refused.
      for (const nonce of live)
        expect(
          await store.claimNonce({ assetId: testAssetId, user, nonce, keepUntil: now + 3600 }),
        ).toBe(false)
    }, 30_000)

    test('createBatch records an epoch once: a second record of it is refused and overwrites nothing', async () => {
      const store = await open()
      const first = batchRecord(7)
      const rival = batchRecord(7, { revenue: 1n, status: 'submitted', txHash: randomHex(32) })
      expect(await store.createBatch(first)).toBe(true)
      expect(await store.createBatch(rival)).toBe(false)
      expect(await store.createBatch(first)).toBe(false)
      expect(await store.getBatch(testAssetId, 7)).toEqual(first)
      // Another asset's epoch 7 is its own record; saveBatch still updates the recorded one.
      expect(await store.createBatch(batchRecord(7, { assetId: randomHex(32) }))).toBe(true)
      const confirmed = { ...first, status: 'confirmed' as const, txHash: randomHex(32) }
      await store.saveBatch(confirmed)
      expect(await store.getBatch(testAssetId, 7)).toEqual(confirmed)
      expect(await store.latestBatch(testAssetId)).toEqual(confirmed)
    })

    test('createBatch: concurrent records of one epoch, exactly one wins and is what is stored', async () => {
      const store = await open()
      const records = Array.from({ length: 8 }, (_, i) => batchRecord(3, { revenue: BigInt(i) }))
      const results = await Promise.all(records.map((record) => store.createBatch(record)))
      expect(results.filter(Boolean)).toHaveLength(1)
      expect(await store.getBatch(testAssetId, 3)).toEqual(records[results.indexOf(true)])
    })

    test('checkWritable resolves on a healthy store and rejects once it is closed', async () => {
      const store = await open()
      await store.checkWritable()
      await store.checkWritable()
      await store.close()
      await expect(store.checkWritable()).rejects.toMatchObject({ code: 'STORE_CLOSED' })
    })

    test('batches: saveBatch upserts by (assetId, epoch); getBatch and latestBatch read exactly', async () => {
      const store = await open()
      const batch = (epoch: number, overrides: Partial<BatchRecord> = {}): BatchRecord => ({
        assetId: testAssetId,
        epoch,
        status: 'built',
        revenue: 10n ** 30n + 7n,
        receiptCount: 10_000,
        receiptsRoot: randomHex(32),
        rebateRoot: randomHex(32),
        batchUri: `https://batches.example/${epoch}.json`,
        batchHash: randomHex(32),
        txHash: null,
        createdAt: 1_760_000_000_000 + epoch,
        ...overrides,
      })
      expect(await store.latestBatch(testAssetId)).toBeUndefined()
      const first = batch(1)
      await store.saveBatch(first)
      expect(await store.getBatch(testAssetId, 1)).toEqual(first)
      const submitted = { ...first, status: 'submitted' as const, txHash: randomHex(32) }
      await store.saveBatch(submitted)
      const upperAsset = `0x${testAssetId.slice(2).toUpperCase()}` as Hex
      expect(await store.getBatch(upperAsset, 1)).toEqual(submitted)
      const second = batch(2, { revenue: 0n })
      await store.saveBatch(second)
      await store.saveBatch(batch(1, { assetId: randomHex(32) }))
      expect(await store.latestBatch(testAssetId)).toEqual(second)
      expect(await store.getBatch(testAssetId, 3)).toBeUndefined()
    })

    test('a closed store rejects calls with STORE_CLOSED', async () => {
      const store = await open()
      await store.close()
      const error = await store.get('x').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StoreError)
      expect(error).toMatchObject({
        code: 'STORE_CLOSED',
        shortMessage: 'The receipt store is closed.',
      })
      await expect(append(store, 'y', randomUser())).rejects.toMatchObject({ code: 'STORE_CLOSED' })
    })

    const { reopen } = options
    if (reopen)
      test('everything persists across close and reopen, and the chain continues', async () => {
        const store = await open()
        const userWallet = randomWallet()
        const user = userWallet.address as Address
        const a = await append(store, 'a', user)
        const b = await append(store, 'b', user)
        await store.markSettled({ assetId: testAssetId, epoch: 1, hashes: [a.hash] })
        const ack = await ackFor(userWallet, b.receipt, b.hash)
        await store.addAck(ack)
        const saved: BatchRecord = {
          assetId: testAssetId,
          epoch: 1,
          status: 'confirmed',
          revenue: 2n ** 200n,
          receiptCount: 1,
          receiptsRoot: randomHex(32),
          rebateRoot: randomHex(32),
          batchUri: 'ipfs://batch-1',
          batchHash: randomHex(32),
          txHash: randomHex(32),
          createdAt: 1_760_000_000,
        }
        await store.saveBatch(saved)
        const keepUntil = Math.floor(Date.now() / 1000) + 3600
        expect(await store.claimNonce({ assetId: testAssetId, user, nonce: 77n, keepUntil })).toBe(
          true,
        )
        // Accepted before close: close waits for it to be stored.
        const pending = append(store, 'c', user)
        await store.close()
        const c = await pending

        const again = await reopen(store)
        opened.push(again)
        expect(await again.get('a')).toEqual({ ...a, epoch: 1 })
        expect(await again.get('c')).toEqual(c)
        expect(
          await again.head({ assetId: testAssetId, meter: meter.address as Address, user: user }),
        ).toEqual({ seq: 3, hash: c.hash, cumulativeAmount: c.receipt.cumulativeAmount })
        expect(
          await again.latestAck({
            assetId: testAssetId,
            meter: meter.address as Address,
            user: user,
          }),
        ).toEqual(decodeAck(encodeAck(ack)))
        expect(await again.getBatch(testAssetId, 1)).toEqual(saved)
        // A replay after a restart is refused: the nonce register is durable.
        expect(await again.claimNonce({ assetId: testAssetId, user, nonce: 77n, keepUntil })).toBe(
          false,
        )
        expect(await again.createBatch(saved)).toBe(false)
        const d = await append(again, 'd', user)
        expect([d.receipt.seq, d.receipt.prev]).toEqual([4, c.hash])
        const chain = await again.listByUser({ user })
        expect(
          verifyReceiptChain(
            chain.map((r) => r.receipt),
            [meter.address as Address],
            { domain: testDomain },
          ).issues,
        ).toEqual([])
      })
  })
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
