import type { AppendReceiptParameters, ChainHead, StoredReceipt } from '@rma/core'
import { StoreError } from '../errors.js'
import { createChainCache } from './chainCache.js'
import { createKeyedMutex } from './keyedMutex.js'
import {
  chainKeyOf,
  headOf,
  type LowerChain,
  lowerChain,
  newStoredReceipt,
  type ReceiptRow,
  toReceiptRow,
} from './receipts.js'
import { chainResetError, duplicateIdError, unknownOutcomeError } from './storeErrors.js'
import { createTurns, signsPerTurn } from './turns.js'

/** A signed receipt handed to the adapter, with its chain and the head it was signed on. */
export type GroupRow = { row: ReceiptRow; base: ChainHead; chain: LowerChain }

/**
 * What became of one row of a group the database answered for: stored; left out because its
 * chain's head had moved (another process appended to it); left out because an earlier row of
 * its chain in the group failed (it was signed on top of it); or refused for a fault of its own
 * (a duplicate id, a hash or seq taken), as the error to reject its append with.
 */
export type RowOutcome = 'stored' | 'moved' | 'skipped' | { error: unknown }

/**
 * The answer to a group commit: an outcome per row, or a failure of the whole group. A failure
 * says whether the group may have committed anyway (a connection lost, a writer thread that
 * stopped, with the commit in flight), in which case the engine reads its rows back.
 */
export type CommitResult =
  | { outcomes: readonly RowOutcome[] }
  | { error: unknown; maybeCommitted: boolean }

/**
 * What a store provides to the engine: its SQL (or its writer thread), nothing of the policy.
 */
export type GroupCommitAdapter = {
  /** The chain's head as stored (throws the store's own error when it cannot be read). */
  readHead(chain: LowerChain): ChainHead | Promise<ChainHead>
  /**
   * Writes the rows in one transaction, in order; never rejects. Rows of one chain follow each
   * other, each signed on the previous one (the first on `base`): a row whose chain has a failed
   * row before it must not be stored (`'skipped'`).
   */
  commit(rows: readonly GroupRow[]): Promise<CommitResult>
  /**
   * For each row, whether the store holds a receipt with its id and hash. Throws when the store
   * cannot be read (the outcome then stays unknown).
   */
  readBack(rows: readonly ReceiptRow[]): Promise<boolean[]>
  /**
   * Optional: appends one receipt under a lock the database holds on the chain's head, across
   * processes (PostgreSQL): reads the head, calls `build` with it (which signs), stores the row
   * and moves the head, in one transaction. Without it, an append that must go alone re-reads
   * the head, signs, and is committed as a group of one.
   */
  appendLocked?(
    chain: LowerChain,
    build: (head: ChainHead) => Promise<ReceiptRow>,
  ): Promise<{ stored: true } | { error: unknown; maybeCommitted: boolean }>
  /** Why no write can be made at all now (a writer thread that stopped), checked before signing. */
  refusal?(): unknown
  /**
   * Groups the adapter may have in flight at once (default 1). Above 1, a group is sent while
   * earlier ones commit (pipelined), never with a receipt whose chain has one in flight: such a
   * receipt waits for that group's outcome, so a chain's receipts reach the store in order and
   * a failed group takes nothing of a later one with it.
   */
  groupsInFlight?: number
}

/** The appends of a store, grouped into commits. */
export type GroupCommitEngine = {
  append(parameters: AppendReceiptParameters): Promise<StoredReceipt>
}

/** A chain as this process last saw it. */
type Chain = {
  key: string
  ref: LowerChain
  /** The head as signed so far (possibly not yet committed); undefined: read it from the store. */
  head: ChainHead | undefined
  /**
   * Bumped when a receipt of the chain fails to store or its outcome is unknown: a receipt
   * signed in an earlier generation may stand on top of it and is signed again.
   */
  generation: number
  /**
   * Set when the last failure was the store being unable to write: receipts signed on top of
   * the failed one reject with it instead of queueing more commits that would wait and fail.
   */
  brokenBy: unknown
  /** Another process appended to it: its appends take `appendLocked` from now on. */
  contended: boolean
  /** Appends using the chain; it leaves the cache only when none does. */
  pending: number
  /** Receipts of the chain in groups sent and not settled yet: its next ones wait for them. */
  committing: number
  /** Signed receipts whose outcome is not known yet. */
  inFlight: number
  /** Resolved when `inFlight` drops to 0: the head is re-read only then. */
  idle: (() => void)[]
}

type Queued = {
  parameters: AppendReceiptParameters
  chain: Chain
  generation: number
  base: ChainHead
  row: ReceiptRow
  /** What the append resolves with once the row is stored. */
  stored: StoredReceipt
  /** A retry: committed in a group of its own, and never retried again. */
  alone: boolean
  resolve: (stored: StoredReceipt) => void
  reject: (error: unknown) => void
}

/**
 * The group-commit engine under the SQLite and PostgreSQL stores. It owns the chain heads,
 * the signing order, the grouping of appends into commits and the failure policy; the adapter
 * only runs SQL.
 *
 * - Appends of one chain sign one after another, each on the head the previous one produced,
 *   without waiting for its commit. Receipts signed in one event-loop turn (at most
 *   {@link signsPerTurn} sign callbacks start per turn) are committed together. Up to
 *   `adapter.groupsInFlight` groups (default 1) commit at a time, and receipts signed meanwhile
 *   form the next groups; a receipt whose chain has one in a group in flight waits for that
 *   group's outcome, so a chain's receipts reach the store in order.
 * - An append resolves only once its receipt is durable, and never rejects for a stored one.
 * - **Failure policy.** An append whose receipt failed on its own (a duplicate id, a hash or seq
 *   taken, its own statement failing alone) rejects with that error. Every other append of a
 *   failed group is *innocent*: it is signed again, on its chain's head re-read from the store,
 *   and committed in a group of its own (once; its second failure is its own). A group whose
 *   outcome is unknown (a lost reply, a writer thread that stopped mid-commit) is read back
 *   first: receipts found stored resolve, the others are innocent, and if the store cannot be
 *   read they reject with `STORE_UNAVAILABLE` (outcome unknown). When the store cannot write at
 *   all (`STORE_UNAVAILABLE`, `WRITER_FAILED`), the group's appends, and those signed on top of
 *   them, reject with that error, since a retry could only wait and fail the same way (the
 *   caller refuses the paid call). Any failure leaves the chain's head unknown:
 *   receipts signed on top of it are signed again, and the head is re-read from the store once
 *   none of the chain's receipts is in flight, so seq, prev and cumulativeAmount stay
 *   continuous.
 */
export function createGroupCommitEngine(adapter: GroupCommitAdapter): GroupCommitEngine {
  const chains = createChainCache<Chain>()
  const signing = createKeyedMutex()
  const reservedIds = new Set<string>()
  let queue: Queued[] = []
  const alone: Queued[] = []
  const groupsInFlight = Math.max(1, adapter.groupsInFlight ?? 1)
  /** Groups sent and not settled yet: at most `groupsInFlight`; the next one waits. */
  let committing = 0
  // At each turn end, what was signed goes to the store (now if fewer than `groupsInFlight`
  // groups are being committed, else when one of them is done).
  const turns = createTurns(signsPerTurn, send)

  function chainFor(key: string, ref: LowerChain): Chain {
    // Map order is insertion order: eviction drops the idle chains loaded longest ago.
    return (
      chains.get(key) ??
      chains.add({
        key,
        ref,
        head: undefined,
        generation: 0,
        brokenBy: undefined,
        contended: false,
        pending: 0,
        committing: 0,
        inFlight: 0,
        idle: [],
      })
    )
  }

  function breakChain(chain: Chain, cause?: unknown): void {
    chain.generation++
    chain.head = undefined
    chain.brokenBy = cannotWrite(cause) ? cause : undefined
  }

  /** An append signed on top of a receipt that failed: signed again, unless the store cannot write. */
  function signedOnFailed(item: Queued): void {
    if (item.chain.brokenBy) reject(item, item.chain.brokenBy)
    else retry(item)
  }

  function idle(chain: Chain): Promise<void> | undefined {
    if (chain.inFlight === 0) return undefined
    return new Promise((resolve) => chain.idle.push(resolve))
  }

  /** The item's attempt is over (stored, failed, or about to be retried). */
  function done(item: Queued): void {
    const { chain } = item
    if (--chain.inFlight === 0) for (const wake of chain.idle.splice(0)) wake()
  }

  function resolve(item: Queued): void {
    done(item)
    item.resolve(item.stored)
  }

  function reject(item: Queued, error: unknown): void {
    done(item)
    item.reject(error)
  }

  /**
   * An innocent append: signed again on the re-read head and committed alone. `unknown`: its
   * first receipt's outcome was unknown and read back as missing; if that commit lands after
   * all, the retry meets the taken id, and the first receipt is then the append's.
   */
  function retry(item: Queued, unknown = false): void {
    done(item)
    const { chain, parameters } = item
    signing
      .run(chain.key, () => signNext(chain.key, chain.ref, parameters, true))
      .then(({ committed }) => committed)
      .then(item.resolve, (error: unknown) => {
        if (!(unknown && error instanceof StoreError && error.code === 'DUPLICATE_RECEIPT_ID')) {
          item.reject(error)
          return
        }
        adapter.readBack([item.row]).then(
          ([found]) => (found ? item.resolve(item.stored) : item.reject(error)),
          () => item.reject(error),
        )
      })
  }

  /**
   * Sends groups while fewer than `groupsInFlight` are being committed. Beside a group in
   * flight, only a full turn's worth ({@link signsPerTurn} receipts) goes: smaller ones wait and
   * grow, so pipelining never turns one group into several small ones.
   */
  function send(): void {
    while (committing < groupsInFlight) {
      const group = nextGroup(committing === 0 ? 1 : signsPerTurn)
      if (!group) return
      commitGroup(group)
    }
  }

  /**
   * The next group: a retried append alone, else everything signed since the last group whose
   * chain has no receipt in a group in flight (the others wait in the queue, in order); none if
   * that is fewer than `minSize` receipts.
   */
  function nextGroup(minSize: number): Queued[] | undefined {
    while (alone.length > 0) {
      const item = alone.shift()!
      // A receipt of its chain failed while this one waited: it was signed on top of it.
      if (item.generation !== item.chain.generation) signedOnFailed(item)
      else return [item]
    }
    const fresh: Queued[] = []
    for (const item of queue)
      if (item.generation !== item.chain.generation) signedOnFailed(item)
      else fresh.push(item)
    queue = fresh
    const group: Queued[] = []
    const held: Queued[] = []
    const taken = new Set<Chain>()
    for (const item of fresh) {
      const { chain } = item
      if (chain.committing > 0 && !taken.has(chain)) held.push(item)
      else {
        taken.add(chain)
        group.push(item)
      }
    }
    if (group.length === 0 || group.length < minSize) return undefined
    queue = held
    return group
  }

  function commitGroup(group: Queued[]): void {
    committing++
    for (const item of group) item.chain.committing++
    adapter
      .commit(group.map(({ row, base, chain }) => ({ row, base, chain: chain.ref })))
      .catch((error: unknown): CommitResult => ({ error, maybeCommitted: true }))
      .then((result) => settle(group, result))
      .catch((error: unknown) => {
        for (const item of group) item.reject(error)
      })
      .finally(() => {
        committing--
        for (const item of group) item.chain.committing--
        // Receipts signed while this group committed, or held for it: the next groups.
        send()
      })
  }

  /** Resolves, rejects or retries each append of a committed (or failed) group. */
  async function settle(group: Queued[], result: CommitResult): Promise<void> {
    if ('outcomes' in result) {
      group.forEach((item, i) => {
        const outcome = result.outcomes[i]
        if (outcome === 'stored') {
          resolve(item)
          return
        }
        breakChain(item.chain, typeof outcome === 'object' ? outcome.error : undefined)
        if (outcome === 'moved') item.chain.contended = true
        if (outcome === 'moved' || outcome === 'skipped') {
          if (item.alone) reject(item, chainResetError(item.row.id))
          else retry(item)
        } else reject(item, outcome?.error ?? new Error('The store gave no outcome for a row.'))
      })
      return
    }
    const { error, maybeCommitted } = result
    for (const item of group) breakChain(item.chain, maybeCommitted ? undefined : error)
    if (maybeCommitted) {
      let found: boolean[]
      try {
        found = await adapter.readBack(group.map(({ row }) => row))
      } catch (readError) {
        for (const item of group) reject(item, unknownOutcomeError(readError))
        return
      }
      group.forEach((item, i) => {
        if (found[i]) resolve(item)
        else if (item.alone) reject(item, error)
        else retry(item, true)
      })
      return
    }
    // Nothing of the group was stored. Alone, the error is the append's own; in a group it is
    // not known whose it is, so each append is tried again alone, where only the faulty one
    // meets it.
    for (const item of group)
      if (item.alone || cannotWrite(error)) reject(item, error)
      else retry(item)
  }

  /** Waits for the chain's receipts in flight, then reads its head from the store. */
  async function reloadHead(chain: Chain): Promise<ChainHead> {
    await idle(chain)
    chain.head = await adapter.readHead(chain.ref)
    return chain.head
  }

  /** The append alone, under the database's lock on the chain's head. */
  async function appendLocked(
    chain: Chain,
    parameters: AppendReceiptParameters,
    appendLocked: NonNullable<GroupCommitAdapter['appendLocked']>,
  ): Promise<StoredReceipt> {
    await idle(chain)
    let built: { row: ReceiptRow; stored: StoredReceipt } | undefined
    let buildError: { error: unknown } | undefined
    const result = await appendLocked(chain.ref, async (head) => {
      try {
        const signed = await parameters.sign({ ...head })
        const row = toReceiptRow(parameters.id, head, chain.ref, signed)
        built = { row, stored: newStoredReceipt(row, signed) }
        return row
      } catch (error) {
        buildError = { error }
        throw error
      }
    })
    if ('stored' in result && built) {
      if (!chain.contended) chain.head = headOf(built.row)
      return built.stored
    }
    breakChain(chain, 'error' in result && !result.maybeCommitted ? result.error : undefined)
    // `sign` threw (or signed an invalid receipt): nothing was stored, the caller gets its error.
    if (buildError) throw buildError.error
    const error = 'error' in result ? result.error : new Error('The store stored no row.')
    if (built && 'error' in result && result.maybeCommitted) {
      let found: boolean | undefined
      try {
        ;[found] = await adapter.readBack([built.row])
      } catch (readError) {
        throw unknownOutcomeError(readError)
      }
      if (found) return built.stored
    }
    throw error
  }

  /**
   * Signs the chain's next receipt and queues it; returns (boxed) the commit's promise, so that
   * the chain's lock covers signing only.
   */
  async function signNext(
    key: string,
    ref: LowerChain,
    parameters: AppendReceiptParameters,
    isRetry: boolean,
  ): Promise<{ committed: Promise<StoredReceipt> }> {
    const slot = turns.signSlot()
    if (slot) await slot
    const refusal = adapter.refusal?.()
    if (refusal) throw refusal
    const chain = chainFor(key, ref)
    chain.pending++
    try {
      for (;;) {
        if (adapter.appendLocked && (chain.contended || isRetry))
          return {
            committed: Promise.resolve(await appendLocked(chain, parameters, adapter.appendLocked)),
          }
        // A retry is committed ahead of the queue: it signs only once nothing of its chain is in
        // flight, on the head as stored, so it can never be stored on top of an unstored receipt.
        const head = isRetry || !chain.head ? await reloadHead(chain) : chain.head
        const generation = chain.generation
        const signed = await parameters.sign({ ...head })
        // The chain failed while this was signed: its head may not be stored. Sign again.
        if (chain.generation !== generation || chain.contended) {
          if (chain.brokenBy) throw chain.brokenBy
          continue
        }
        const row = toReceiptRow(parameters.id, head, ref, signed)
        chain.head = headOf(row)
        chain.inFlight++
        const committed = new Promise<StoredReceipt>((resolve, reject) => {
          const item: Queued = {
            parameters,
            chain,
            generation,
            base: head,
            row,
            stored: newStoredReceipt(row, signed),
            alone: isRetry,
            resolve,
            reject,
          }
          if (isRetry) alone.push(item)
          else queue.push(item)
          turns.scheduleEnd()
        })
        return { committed }
      }
    } finally {
      chain.pending--
    }
  }

  return {
    async append(parameters) {
      const { id } = parameters
      // An id in flight here is caught now; an id already stored is caught by the primary key
      // when the group commits (a read here would cost every append a round trip).
      if (reservedIds.has(id)) throw duplicateIdError(id)
      reservedIds.add(id)
      try {
        const ref = lowerChain(parameters)
        const key = chainKeyOf(ref)
        const { committed } = await signing.run(key, () => signNext(key, ref, parameters, false))
        return await committed
      } finally {
        reservedIds.delete(id)
      }
    },
  }
}

/** The store cannot write now: retrying could only fail the same way. */
function cannotWrite(error: unknown): boolean {
  return (
    error instanceof StoreError &&
    (error.code === 'STORE_UNAVAILABLE' ||
      error.code === 'WRITER_FAILED' ||
      error.code === 'STORE_CLOSED')
  )
}
