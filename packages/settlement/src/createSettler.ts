import { getSettlementContract } from '@rma/contracts'
import {
  type Address,
  type BatchRecord,
  type ChainAnchor,
  chainKey,
  createDomain,
  type Hex,
  type ReceiptStore,
  type StoredReceipt,
} from '@rma/core'
import type { Signer } from 'ethers'
import { EventEmitter } from 'eventemitter3'
import { batchFileName, writeBatchFile } from './batchFile.js'
import { buildBatch } from './buildBatch.js'
import {
  createPrepaidRound,
  type PrepaidIdleResult,
  type PrepaidSettleResult,
  type SkippedVoucher,
} from './createPrepaidRound.js'
import { decodeRevert } from './decodeRevert.js'
import { ensureAllowance } from './ensureAllowance.js'
import { ensureDeposit } from './ensureDeposit.js'
import {
  BatchChainMismatchError,
  InvalidBatchReceiptsError,
  InvalidSettlementOptionsError,
  SettlementError,
  SettleRefusedError,
  TransactionRevertedError,
} from './errors.js'
import { createProofIndex, writeProofIndex } from './proofIndex.js'
import { type AssetState, readAsset } from './readAsset.js'
import { readRecordedBatch } from './readRecordedBatch.js'
import { releaseDueBatches } from './releaseDueBatches.js'
import { resolveBatchBaseUri } from './resolveBatchBaseUri.js'
import { type RetryOptions, withRetry } from './withRetry.js'

export type SettlerEvents = {
  'batch:built': (event: {
    epoch: number
    revenue: bigint
    receiptCount: number
    batchUri: string
  }) => void
  /** Another settler on the same store recorded this epoch first; this one resumes its batch. */
  'batch:lost': (event: { epoch: number }) => void
  'batch:submitted': (event: { epoch: number; txHash: Hex }) => void
  /**
   * Postpaid batches whose challenge window had passed were released (credited, their rebates
   * claimable) before this round's settle, in one `release` transaction.
   */
  'batch:released': (event: { epochs: number[]; txHash: Hex; gasUsed: bigint }) => void
  /**
   * Prepaid mode: a voucher left out of a settlement, by the settler before sending (a check
   * the contract would fail) or by the contract (`VoucherSkipped`). Reported once per chain,
   * seq and reason; only `retried` ones are ever submitted again.
   */
  'voucher:skipped': (event: SkippedVoucher) => void
  'batch:confirmed': (event: {
    epoch: number
    txHash: Hex
    gasUsed: bigint
    /** Gas of the `approve` this batch needed (0 while the standing allowance covers it). */
    approveGasUsed: bigint
    /** Gas of the deposit top-up sent before this batch (0 while the deposit covers it). */
    depositGasUsed: bigint
    recovered: boolean
  }) => void
  error: (error: Error) => void
}

export type SettlerOptions = {
  store: ReceiptStore
  /**
   * `postpaid` (default): each batch's revenue is paid in by the settler and users claim
   * rebates against per-epoch roots. `prepaid`: users paid in advance; each round submits the
   * users' latest acks (cumulative vouchers) with `settlePrepaid`, which debits their prepaid
   * balances and credits their rebates at once; the settler pays only gas. An asset is settled
   * in one mode: both advance the asset's one epoch counter.
   */
  mode?: 'postpaid' | 'prepaid'
  /** The asset's settler, connected to a provider; in postpaid mode it pays each batch's revenue into the contract. */
  signer: Signer
  /** The settlement contract's address. */
  contract: Address
  assetId: Hex
  /** Where batch files and proof indexes are written (default `./.rma/batches`). */
  batchDir?: string
  /**
   * Public base URL where `batchDir` is served: each batch's URI on chain is
   * `<batchBaseUri>/<assetId>/<batchHash>.json`, which auditors and other settlers fetch.
   * Default `<publicUrl>/rma/batches`; in postpaid mode one of the two is required. Prepaid
   * settlements write no batch file (every voucher is in the calldata).
   */
  batchBaseUri?: string
  /**
   * The provider's public URL (`https://provider.example`), whose `rmaRouter` serves
   * `batchDir` under `/rma/batches` (its `batches` option): the default `batchBaseUri`.
   */
  publicUrl?: string
  /** Confirmations to wait for (default 1). */
  confirmations?: number
  /** Most receipts in one batch (default 100,000); in prepaid mode, read per round. */
  maxReceipts?: number
  /** Prepaid mode: most vouchers in one `settlePrepaid` (default 200, about 4M gas). */
  maxVouchers?: number
  /** Allowance approved when the standing one is short (default the largest uint256). */
  allowance?: bigint
  /**
   * How many batches a deposit top-up covers (default 24). Batches are paid from the settler's
   * deposit in the contract (`deposit`/`withdrawDeposit`/`depositOf`): when it holds less than
   * the next batch's revenue, it is topped up to `depositBatches` × that revenue (or with the
   * whole wallet when that still pays the batch), so a settle moves no tokens and the top-up's
   * gas is shared by the batches it pays. The deposit stays the settler's and can be withdrawn
   * at any time. `0` pulls each batch with `transferFrom` instead (about 21,000 gas more per
   * batch, nothing prepaid).
   */
  depositBatches?: number
  /**
   * After the chain refuses a batch (a decoded revert: no funds, no stake), wait this long
   * before trying again, doubling per refusal up to `max` (default 30 s, max 15 min).
   */
  refusalBackoff?: { baseMs?: number; maxMs?: number }
  retry?: RetryOptions
}

export type SettleResult =
  | { status: 'idle'; unsettled: number }
  | PrepaidIdleResult
  | PrepaidSettleResult
  | {
      status: 'settled'
      epoch: number
      revenue: bigint
      receiptCount: number
      txHash: Hex
      gasUsed: bigint
      approveGasUsed: bigint
      /** Gas of the deposit top-up sent before this batch (0 when none was needed). */
      depositGasUsed: bigint
      recovered: boolean
    }

export type Settler = ReturnType<typeof createSettler>

/** Gas the settler spent to pay a batch besides its settle. */
type Paid = { approveGasUsed: bigint; depositGasUsed: bigint }
const unpaid: Paid = { approveGasUsed: 0n, depositGasUsed: 0n }

/**
 * The settler's loop. One round (`settleOnce`): read the asset from the chain; take unsettled
 * receipts from the store (reading past receipts of meters the contract no longer trusts);
 * verify them as chains; build the batch and write its file under its content hash; top up
 * the settler's deposit when it cannot pay the batch (to `depositBatches` batches, under a
 * standing allowance approved once) and simulate the settle; record the batch with the store's
 * compare-and-set, and only when that wins assign its receipts, write its proof index and
 * send; wait for confirmations. A settler that loses the compare-and-set resumes the recorded
 * batch instead, so two settlers on one store never assign a receipt to an epoch the chain
 * did not settle. A recorded batch the chain lacks (never sent, dropped, or dropped by a reorg
 * after its confirmations) is sent again. A refused batch is reported with its decoded reason
 * and retried after a growing delay, without sending a transaction that would revert.
 *
 * @example
 * const settler = createSettler({ store, signer, contract, assetId, batchBaseUri: 'https://example.com/rma/batches' })
 * settler.events.on('batch:confirmed', (e) => log(e.epoch, e.gasUsed))
 * const { stop } = settler.run({ every: 60_000, minReceipts: 100 })
 */
export function createSettler(options: SettlerOptions) {
  const { store, signer, assetId } = options
  const mode = options.mode ?? 'postpaid'
  if (mode !== 'postpaid' && mode !== 'prepaid')
    throw new InvalidSettlementOptionsError({
      shortMessage: `mode must be 'postpaid' or 'prepaid', not ${String(mode)}.`,
    })
  const batchBaseUri = resolveBatchBaseUri(options)
  if (mode === 'postpaid' && !/^[a-z][a-z0-9+.-]*:/i.test(batchBaseUri))
    throw new InvalidSettlementOptionsError({
      shortMessage:
        'batchBaseUri or publicUrl is required: the public URL where batchDir is served.',
      details:
        "Batch URIs go on chain for auditors and users; a path on the settler's disk helps no one. Pass the provider's publicUrl (rmaRouter serves batchDir at /rma/batches with its `batches` option) or the URL of any static host holding batchDir.",
    })
  const contract = getSettlementContract(options.contract, signer)
  const batchDir = options.batchDir ?? './.rma/batches'
  const baseUri = batchBaseUri.replace(/\/+$/, '')
  const confirmations = options.confirmations ?? 1
  const maxReceipts = options.maxReceipts ?? 100_000
  const depositBatches = options.depositBatches ?? 24
  if (!Number.isInteger(depositBatches) || depositBatches < 0)
    throw new InvalidSettlementOptionsError({
      shortMessage: `depositBatches must be a whole number of batches (0 pulls each batch), not ${depositBatches}.`,
    })
  const retry = options.retry ?? {}
  const backoffBase = options.refusalBackoff?.baseMs ?? 30_000
  const backoffMax = options.refusalBackoff?.maxMs ?? 15 * 60_000
  const events = new EventEmitter<SettlerEvents>()
  let domain: ReturnType<typeof createDomain> | undefined
  let queue: Promise<unknown> = Promise.resolve()
  /** Receipts left out of the last round (untrusted meters): read past them next round. */
  let leftOut = 0
  let refusal: { until: number; count: number; error: SettlementError } | undefined

  const call = <T>(step: () => Promise<T>) => withRetry(step, retry)
  const getDomain = async () => {
    domain ??= createDomain({
      chainId: (await call(() => signer.provider!.getNetwork())).chainId,
      verifyingContract: options.contract,
    })
    return domain
  }
  const asset = () => call(() => readAsset(contract, assetId))

  const prepaid = createPrepaidRound({
    store,
    contract,
    assetId,
    domain: getDomain,
    token: async () => (await asset()).token,
    events,
    call,
    nonce: () => pendingNonce(),
    confirmations,
    maxReceipts,
    maxVouchers: options.maxVouchers ?? 200,
    refused: (error) => refusedCall(`settlePrepaid(${assetId})`, error),
  })

  async function settleOnce(settleOptions: { minReceipts?: number } = {}): Promise<SettleResult> {
    if (refusal && Date.now() < refusal.until) throw refusal.error
    if (mode === 'prepaid') {
      const result = await prepaid.settleOnce(settleOptions)
      if (result.status === 'settled') refusal = undefined
      return result
    }
    const state = await asset()
    const recorded = await store.latestBatch(assetId)
    if (recorded && recorded.epoch > state.epoch) {
      // Recorded but not on chain: never sent, still pending, refused, or dropped by a reorg
      // after it was confirmed. The chain accepts only the next epoch, so resume that one.
      const next =
        recorded.epoch === state.epoch + 1
          ? recorded
          : await store.getBatch(assetId, state.epoch + 1)
      if (!next)
        throw new BatchChainMismatchError({
          shortMessage: `The store has no batch of epoch ${state.epoch + 1}, the next one the chain expects.`,
        })
      return resume(next, state)
    }
    if (recorded && recorded.status !== 'confirmed') return resume(recorded, state)
    if (recorded && recorded.epoch !== state.epoch)
      throw new BatchChainMismatchError({
        shortMessage: `The store's last batch is epoch ${recorded.epoch}, the chain's ${state.epoch}.`,
      })
    await releaseDue()
    const { receipts, trustedMeters } = await settleable()
    if (receipts.length === 0 || receipts.length < (settleOptions.minReceipts ?? 1))
      return { status: 'idle', unsettled: receipts.length }
    const epoch = state.epoch + 1
    const d = await getDomain()
    const built = buildBatch({
      assetId,
      epoch,
      chainId: d.chainId,
      contract: options.contract,
      domain: d,
      receipts,
      anchors: await anchorsOf(receipts),
      trustedMeters,
      shares: state.shares,
    })
    if (built.issues.length > 0)
      events.emit(
        'error',
        new InvalidBatchReceiptsError({
          shortMessage: `${built.issues.length} receipt chain issue(s); those chains stay unsettled.`,
          details: JSON.stringify(built.issues.map((i) => i.type)),
        }),
      )
    // Content-addressed: a settler that loses the race below never replaces the winner's file.
    const { batchHash } = await writeBatchFile(batchDir, built.file)
    const record: BatchRecord = {
      assetId: assetId.toLowerCase() as Hex,
      epoch,
      status: 'built',
      revenue: BigInt(built.file.revenue),
      receiptCount: built.file.receiptCount,
      receiptsRoot: built.file.receiptsRoot,
      rebateRoot: built.file.rebateRoot,
      batchUri: `${baseUri}/${batchFileName(assetId, batchHash)}`,
      batchHash,
      txHash: null,
      createdAt: Math.floor(Date.now() / 1000),
    }
    // Refused before anything is recorded: the receipts stay unsettled and the next round
    // builds a new batch with them and everything metered since.
    const paid = await prepare(record)
    // The chain settled this epoch meanwhile (another settler): read the store again.
    if (paid === null) return settleOnce(settleOptions)
    if (!(await store.createBatch(record))) {
      events.emit('batch:lost', { epoch })
      const winner = await store.getBatch(assetId, epoch)
      if (!winner)
        throw new BatchChainMismatchError({ shortMessage: `The batch of epoch ${epoch} vanished.` })
      return resume(winner, await asset())
    }
    await writeProofIndex(batchDir, createProofIndex(built.file, batchHash))
    await store.markSettled({ assetId, epoch, hashes: built.included.map((r) => r.hash) })
    events.emit('batch:built', {
      epoch,
      revenue: record.revenue,
      receiptCount: record.receiptCount,
      batchUri: record.batchUri,
    })
    return send(record, false, paid)
  }

  /**
   * Releases the asset's due pending batches (a challenge window passed) before settling, so
   * a settle never carries more than its own batch; a refusal is reported and the round goes on
   * (the settle releases the oldest due batch itself).
   */
  async function releaseDue(): Promise<void> {
    try {
      const result = await releaseDueBatches({
        contract,
        assetId,
        confirmations,
        nonce: pendingNonce,
      })
      if (result.status === 'released')
        events.emit('batch:released', {
          epochs: result.epochs,
          txHash: result.txHash,
          gasUsed: result.gasUsed,
        })
    } catch (error) {
      events.emit(
        'error',
        error instanceof SettlementError
          ? error
          : new TransactionRevertedError({
              shortMessage: 'Releasing due batches failed.',
              cause: error,
            }),
      )
    }
  }

  /** A recorded batch: confirm it if the chain has it, else send it again. */
  async function resume(record: BatchRecord, state: AssetState): Promise<SettleResult> {
    if (state.epoch >= record.epoch) {
      const settled = await settledEvent(record.epoch)
      if (
        !settled ||
        settled.receiptsRoot !== record.receiptsRoot.toLowerCase() ||
        settled.rebateRoot !== record.rebateRoot.toLowerCase()
      )
        throw new BatchChainMismatchError({
          shortMessage: `Epoch ${record.epoch} on chain is not the recorded batch.`,
        })
      return confirm(record, settled.txHash, true, unpaid)
    }
    if (state.epoch !== record.epoch - 1)
      throw new BatchChainMismatchError({
        shortMessage: `Recorded epoch ${record.epoch} does not follow the chain's ${state.epoch}.`,
      })
    const file = await readRecordedBatch(record, { batchDir, domain: await getDomain() })
    // The crash (or the race) may have come between recording the batch and assigning its
    // receipts, or before its proof index was written; both are idempotent.
    await writeProofIndex(batchDir, createProofIndex(file, record.batchHash))
    await store.markSettled({
      assetId,
      epoch: record.epoch,
      hashes: file.receipts.map((r) => r.hash),
    })
    if (record.txHash && record.status === 'submitted') {
      // Sent before: wait for it if the node still has it, else send it again.
      const sent = await call(() => signer.provider!.getTransaction(record.txHash!))
      if (sent) {
        const mined = await sent.wait(confirmations).catch(() => null)
        if (mined?.status === 1) return confirm(record, record.txHash, true, unpaid, mined.gasUsed)
        const now = await asset()
        if (now.epoch >= record.epoch) return resume(record, now)
      }
    }
    const paid = await prepare(record)
    if (paid === null) return resume(record, await asset())
    return send(record, true, paid)
  }

  /**
   * Tops the deposit up (or, with `depositBatches` 0, approves if the standing allowance is
   * short), then simulates the settle: a batch the chain would refuse is reported with the
   * decoded reason and no settle is sent. Resolves to the gas of the approve and top-up, or
   * null when the chain has settled the epoch meanwhile.
   */
  async function prepare(record: BatchRecord): Promise<Paid | null> {
    const token = (await asset()).token
    const paid: Paid =
      depositBatches > 0
        ? await call(() =>
            ensureDeposit({
              contract,
              signer,
              spender: options.contract,
              assetId,
              token,
              needed: record.revenue,
              batches: depositBatches,
              allowance: options.allowance,
              confirmations,
              nonce: pendingNonce,
            }),
          )
        : {
            approveGasUsed: await call(() =>
              ensureAllowance({
                signer,
                token,
                spender: options.contract,
                needed: record.revenue,
                target: options.allowance,
                confirmations,
                nonce: pendingNonce,
              }),
            ),
            depositGasUsed: 0n,
          }
    try {
      await call(() => contract.settle.staticCall(...settleArguments(record)))
    } catch (error) {
      if ((await asset()).epoch >= record.epoch) return null
      throw await refused(record, error)
    }
    return { approveGasUsed: paid.approveGasUsed, depositGasUsed: paid.depositGasUsed }
  }

  function refused(record: BatchRecord, error: unknown): Promise<SettlementError> {
    return refusedCall(`settle(epoch ${record.epoch})`, error)
  }

  /** A refused call, decoded; rounds then wait a growing delay before trying again. */
  async function refusedCall(label: string, error: unknown): Promise<SettlementError> {
    if (error instanceof SettlementError) return error
    const revert = decodeRevert(error, { [await signer.getAddress()]: 'the settler' })
    if (!revert)
      return new TransactionRevertedError({ shortMessage: `${label} failed.`, cause: error })
    const count = (refusal?.count ?? 0) + 1
    const wait = Math.min(backoffBase * 2 ** (count - 1), backoffMax)
    const refusedError = new SettleRefusedError({
      shortMessage: `${label} was refused: ${revert.reason}.`,
      details: `${revert.name}; retried after ${Math.round(wait / 1000)} s, without sending until the chain would accept it.`,
      revert,
      cause: error,
    })
    refusal = { until: Date.now() + wait, count, error: refusedError }
    return refusedError
  }

  async function send(record: BatchRecord, recovered: boolean, paid: Paid): Promise<SettleResult> {
    let tx: Awaited<ReturnType<typeof contract.settle>>
    try {
      tx = await call(async () =>
        contract.settle(...settleArguments(record), { nonce: await pendingNonce() }),
      )
    } catch (error) {
      // Another settler may have landed this batch first: let the chain decide.
      const now = await asset()
      if (now.epoch >= record.epoch) return resume(record, now)
      throw await refused(record, error)
    }
    const submitted = { ...record, status: 'submitted' as const, txHash: tx.hash as Hex }
    await store.saveBatch(submitted)
    events.emit('batch:submitted', { epoch: record.epoch, txHash: tx.hash as Hex })
    const mined = await call(() => tx.wait(confirmations)).catch(async (error: unknown) => {
      const now = await asset()
      if (now.epoch >= record.epoch) return null
      throw new TransactionRevertedError({
        shortMessage: `settle(epoch ${record.epoch}) reverted.`,
        cause: error,
      })
    })
    if (mined === null) return resume(submitted, await asset())
    if (mined?.status !== 1)
      throw new TransactionRevertedError({
        shortMessage: `settle(epoch ${record.epoch}) reverted.`,
      })
    return confirm(submitted, tx.hash as Hex, recovered, paid, mined.gasUsed)
  }

  async function confirm(
    record: BatchRecord,
    txHash: Hex,
    recovered: boolean,
    paid: Paid,
    gasUsed?: bigint,
  ): Promise<SettleResult> {
    const gas =
      gasUsed ?? (await call(() => signer.provider!.getTransactionReceipt(txHash)))?.gasUsed ?? 0n
    await store.saveBatch({ ...record, status: 'confirmed', txHash })
    refusal = undefined
    events.emit('batch:confirmed', {
      epoch: record.epoch,
      txHash,
      gasUsed: gas,
      ...paid,
      recovered,
    })
    return {
      status: 'settled',
      epoch: record.epoch,
      revenue: record.revenue,
      receiptCount: record.receiptCount,
      txHash,
      gasUsed: gas,
      ...paid,
      recovered,
    }
  }

  function settleArguments(record: BatchRecord) {
    return [
      assetId,
      record.epoch,
      record.revenue,
      record.receiptsRoot,
      record.rebateRoot,
      record.receiptCount,
      record.batchUri,
      record.batchHash,
    ] as const
  }

  /**
   * The settler's next nonce, asked of the node itself: ethers' provider caches
   * `eth_getTransactionCount` for 250 ms, which hands approve and settle sent back to back
   * the same nonce.
   */
  async function pendingNonce(): Promise<number> {
    const address = await signer.getAddress()
    const provider = signer.provider as {
      send?: (method: string, params: unknown[]) => Promise<string>
    } | null
    if (typeof provider?.send !== 'function') return signer.getNonce('pending')
    return Number(await call(() => provider.send!('eth_getTransactionCount', [address, 'pending'])))
  }

  async function settledEvent(epoch: number) {
    const logs = await call(() => contract.queryFilter(contract.filters.Settled!(assetId, epoch)))
    const log = logs.at(-1)
    if (!log) return undefined
    const args = (log as unknown as { args: Record<string, unknown> }).args
    return {
      receiptsRoot: String(args.receiptsRoot).toLowerCase() as Hex,
      rebateRoot: String(args.rebateRoot).toLowerCase() as Hex,
      txHash: log.transactionHash as Hex,
    }
  }

  /**
   * Up to `maxReceipts` unsettled receipts of meters the contract trusts. Receipts of a revoked
   * or unknown meter stay unsettled but must not fill every slot (the store lists by meter),
   * so the read reaches past as many as the last round left out, and further while it finds
   * too few.
   */
  async function settleable(): Promise<{ receipts: StoredReceipt[]; trustedMeters: Address[] }> {
    let extra = leftOut
    const trust = new Map<string, boolean>()
    for (;;) {
      const limit = maxReceipts + extra
      const listed = await store.listUnsettled({ assetId, limit })
      const meters = [...new Set(listed.map((r) => r.receipt.meter.toLowerCase()))]
      await Promise.all(
        meters
          .filter((m) => !trust.has(m))
          .map(async (m) => trust.set(m, await call(() => contract.isMeter(assetId, m)))),
      )
      const usable = listed.filter((r) => trust.get(r.receipt.meter.toLowerCase()))
      const skipped = listed.length - usable.length
      if (usable.length >= maxReceipts || listed.length < limit) {
        if (skipped > 0)
          events.emit(
            'error',
            new InvalidBatchReceiptsError({
              shortMessage: `${skipped} unsettled receipt(s) of meters the contract does not trust are left out.`,
              details: meters.filter((m) => !trust.get(m)).join(', '),
            }),
          )
        leftOut = skipped
        return {
          receipts: usable.slice(0, maxReceipts),
          trustedMeters: meters.filter((m) => trust.get(m)) as Address[],
        }
      }
      extra = Math.max(extra * 2, skipped, 1)
    }
  }

  /** Each chain continues from its settled predecessor, found by the first receipt's `prev`. */
  async function anchorsOf(receipts: readonly StoredReceipt[]): Promise<Map<string, ChainAnchor>> {
    const anchors = new Map<string, ChainAnchor>()
    for (const { receipt } of receipts) {
      const key = chainKey(receipt.assetId, receipt.meter, receipt.user)
      if (anchors.has(key) || receipt.seq === 1) continue
      const previous = await store.getByHash(receipt.prev)
      if (previous && previous.epoch !== null)
        anchors.set(key, { seq: previous.receipt.seq, hash: previous.hash })
    }
    return anchors
  }

  /** Serialised, so `run()` and a manual call never build two batches at once. */
  function serial<T>(task: () => Promise<T>): Promise<T> {
    const next = queue.then(task, task)
    queue = next.catch(() => undefined)
    return next
  }

  return {
    events,
    settleOnce: (settleOptions?: { minReceipts?: number }) =>
      serial(() => settleOnce(settleOptions)),

    /**
     * Settles every `every` ms while at least `minReceipts` are unsettled; errors are emitted,
     * never thrown, and the next round tries again (resuming any recorded batch).
     */
    run(runOptions: { every: number; minReceipts?: number }) {
      let stopped = false
      let timer: NodeJS.Timeout | undefined
      let current: Promise<unknown> = Promise.resolve()
      const tick = () => {
        current = serial(() => settleOnce({ minReceipts: runOptions.minReceipts }))
          .catch((error: unknown) =>
            events.emit('error', error instanceof Error ? error : new Error(String(error))),
          )
          .finally(() => {
            if (!stopped) timer = setTimeout(tick, runOptions.every)
          })
      }
      tick()
      return {
        async stop() {
          stopped = true
          clearTimeout(timer)
          await current
        },
      }
    },
  }
}
