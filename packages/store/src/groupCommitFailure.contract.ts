import {
  type Address,
  type ChainHead,
  type ReceiptStore,
  type StoredReceipt,
  verifyReceiptChain,
} from '@rma/core'
import type { Wallet } from 'ethers'
import { expect } from 'vitest'
import { receiptSigner, testAssetId, testDomain } from './testing/receiptSigner.js'

// The failure policy of the group-commit engine, as each adapter's failure tests check it: the
// failure itself is injected by the adapter's test (a lock, a trigger, a cut connection).

export type Burst = {
  /** Every append's outcome, in the order started (`ids[i]`). */
  results: Promise<PromiseSettledResult<StoredReceipt>[]>
  ids: string[]
  /** The heads each append's `sign` was called with, by id: two heads, it was signed again. */
  heads: Map<string, ChainHead[]>
}

/**
 * Starts `perChain` appends on each user's chain at once (round robin, so each chain has several
 * receipts in flight, signed one on top of the other).
 */
export function startBurst(
  store: ReceiptStore,
  options: {
    meter: Wallet
    users: readonly Address[]
    perChain: number
    prefix: string
    /** Called the moment an append resolves (to check, then, that its receipt is durable). */
    onResolved?: (id: string, stored: StoredReceipt) => void
  },
): Burst {
  const { meter, users, perChain, prefix, onResolved } = options
  const heads = new Map<string, ChainHead[]>()
  const ids: string[] = []
  const pending: Promise<StoredReceipt>[] = []
  const signers = users.map((user) => receiptSigner({ meter, user }))
  for (let n = 0; n < perChain; n++)
    users.forEach((user, u) => {
      const id = `${prefix}-${u}-${n}`
      ids.push(id)
      heads.set(id, [])
      const appended = store.append({
        assetId: testAssetId,
        id,
        meter: meter.address as Address,
        user,
        sign: (head) => {
          heads.get(id)!.push(head)
          return signers[u]!(head)
        },
      })
      if (onResolved)
        appended.then(
          (stored) => onResolved(id, stored),
          () => {},
        )
      pending.push(appended)
    })
  return { results: Promise.allSettled(pending), ids, heads }
}

/**
 * No receipt is reported stored that is not durable, and nothing rejected is stored:
 * `durable` holds what the database has for the ids (read on a connection of its own, after
 * the failure), id to hash.
 */
export function expectOnlyResolvedStored(
  burst: Burst,
  results: PromiseSettledResult<StoredReceipt>[],
  durable: ReadonlyMap<string, string>,
): void {
  results.forEach((result, i) => {
    const id = burst.ids[i]!
    if (result.status === 'fulfilled')
      expect([id, durable.get(id)]).toEqual([id, result.value.hash])
    else expect([id, durable.has(id)]).toEqual([id, false])
  })
}

/**
 * Every chain, as the database holds it, runs gap-free from seq 1 (prev links, cumulative
 * amounts, one signature per receipt) through `expectedSeq`.
 */
export function expectChainsContinuous(
  receipts: readonly StoredReceipt[],
  meter: Address,
  users: readonly Address[],
  expectedSeq: ReadonlyMap<Address, number>,
): void {
  const { issues, chains } = verifyReceiptChain(
    receipts.map((r) => r.receipt),
    [meter],
    { domain: testDomain },
  )
  expect(issues).toEqual([])
  const byUser = new Map(chains.map((c) => [c.user.toLowerCase(), c]))
  for (const user of users) {
    const chain = byUser.get(user.toLowerCase())
    const seq = expectedSeq.get(user)!
    expect([user, chain?.fromSeq, chain?.toSeq, chain?.count]).toEqual([user, 1, seq, seq])
  }
}

/** One append on each user's chain, all at once (to warm the heads, or to continue the chains). */
export function appendOnePerChain(
  store: ReceiptStore,
  options: { meter: Wallet; users: readonly Address[]; prefix: string },
): Promise<StoredReceipt[]> {
  const { meter, users, prefix } = options
  return Promise.all(
    users.map((user, u) =>
      store.append({
        assetId: testAssetId,
        id: `${prefix}-${u}`,
        meter: meter.address as Address,
        user,
        sign: receiptSigner({ meter, user }),
      }),
    ),
  )
}
