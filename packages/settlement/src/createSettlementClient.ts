import { pathToFileURL } from 'node:url'
import { rmaSettlementAbi } from '@rma/contracts'
import {
  type Address,
  type BatchRecord,
  type ChainAnchor,
  chainKey,
  createDomain,
  createRebateTree,
  type Hex,
  type ReceiptStore,
  type StoredReceipt,
} from '@rma/core'
import { Contract, type ContractTransactionResponse, type Signer } from 'ethers'
import { EventEmitter } from 'eventemitter3'
import { batchFilePath, readBatchFile, writeBatchFile } from './batchFile.js'
import { buildBatch } from './buildBatch.js'
import { SettlementError } from './errors.js'
import { type AssetState, readAsset } from './readAsset.js'
import { type RetryOptions, withRetry } from './withRetry.js'

export type SettlementEvents = {
  'batch:built': (event: {
    epoch: number
    revenue: bigint
    receiptCount: number
    batchUri: string
  }) => void
  'batch:submitted': (event: { epoch: number; txHash: Hex }) => void
  'batch:confirmed': (event: {
    epoch: number
    txHash: Hex
    gasUsed: bigint
    recovered: boolean
  }) => void
  error: (error: Error) => void
}

export type SettlementClientOptions = {
  store: ReceiptStore
  /** The asset's settler, connected to a provider; it pays each batch's revenue into the contract. */
  signer: Signer
  /** The settlement contract's address. */
  contract: Address
  assetId: Hex
  /** Where batch files are written (default `./.rma/batches`). */
  batchDir?: string
  /** Public base URL of `batchDir` (default its `file://` URL), recorded on chain as `batchUri`. */
  batchBaseUri?: string
  /** Confirmations to wait for (default 1). */
  confirmations?: number
  /** Most receipts in one batch (default 100,000). */
  maxReceipts?: number
  retry?: RetryOptions
}

export type SettleResult =
  | { status: 'idle'; unsettled: number }
  | {
      status: 'settled'
      epoch: number
      revenue: bigint
      receiptCount: number
      txHash: Hex
      gasUsed: bigint
      recovered: boolean
    }

export type RebateProof = {
  user: Address
  epoch: number
  cumulativeAmount: bigint
  claimed: bigint
  proof: Hex[]
}

export type RolePayout = { funded: bigint; claimed: bigint; claimable: bigint }
export type Payouts = {
  epoch: number
  issuer: RolePayout
  supporters: RolePayout
  users: RolePayout
  protocol: RolePayout
}

export type SettlementClient = ReturnType<typeof createSettlementClient>

const erc20Abi = [
  'function approve(address spender, uint256 amount) returns (bool)',
  'function allowance(address owner, address spender) view returns (uint256)',
] as const

/**
 * The settler's side of RMA: takes unsettled receipts from the store, verifies them as chains,
 * builds the batch (receipts tree, cumulative rebate tree, batch file), records it, approves
 * and settles it on chain, waits for confirmations and marks it confirmed. Every step is
 * recorded before it is taken, so after a crash `settleOnce()` reads the chain and either
 * confirms the recorded batch or sends the same batch again: one settlement per epoch, no
 * receipt settled twice or skipped.
 *
 * @example
 * const settlement = createSettlementClient({ store, signer: settler, contract, assetId })
 * settlement.events.on('batch:confirmed', (e) => log(e.epoch, e.gasUsed))
 * const { stop } = settlement.run({ every: 60_000, minReceipts: 100 })
 */
export function createSettlementClient(options: SettlementClientOptions) {
  const { store, signer, assetId } = options
  const contract = new Contract(options.contract, rmaSettlementAbi, signer)
  const batchDir = options.batchDir ?? './.rma/batches'
  const baseUri = (options.batchBaseUri ?? pathToFileURL(batchDir).href).replace(/\/+$/, '')
  const confirmations = options.confirmations ?? 1
  const retry = options.retry ?? {}
  const events = new EventEmitter<SettlementEvents>()
  let domain: ReturnType<typeof createDomain> | undefined
  let queue: Promise<unknown> = Promise.resolve()

  const call = <T>(step: () => Promise<T>) => withRetry(step, retry)
  const getDomain = async () => {
    domain ??= createDomain({
      chainId: (await call(() => signer.provider!.getNetwork())).chainId,
      verifyingContract: options.contract,
    })
    return domain
  }
  const asset = () => call(() => readAsset(contract, assetId))
  const uriOf = (epoch: number) => `${baseUri}/${assetId.toLowerCase()}/${epoch}.json`

  async function settleOnce(settleOptions: { minReceipts?: number } = {}): Promise<SettleResult> {
    const state = await asset()
    const recorded = await store.latestBatch(assetId)
    if (recorded && recorded.status !== 'confirmed') return resume(recorded, state)
    if (recorded && recorded.epoch !== state.epoch)
      throw new SettlementError(
        'CHAIN_MISMATCH',
        `The store's last batch is epoch ${recorded.epoch}, the chain's ${state.epoch}.`,
      )
    const receipts = await store.listUnsettled({ assetId, limit: options.maxReceipts ?? 100_000 })
    if (receipts.length === 0 || receipts.length < (settleOptions.minReceipts ?? 1))
      return { status: 'idle', unsettled: receipts.length }
    const epoch = state.epoch + 1
    const d = await getDomain()
    const previousRebates =
      state.epoch > 0
        ? (
            await readBatchFile(batchFilePath(batchDir, assetId, state.epoch), {
              domain: d,
              rebateRoot: state.rebateRoot,
            })
          ).rebates
        : []
    const built = buildBatch({
      assetId,
      epoch,
      chainId: d.chainId,
      contract: options.contract,
      domain: d,
      receipts,
      anchors: await anchorsOf(receipts),
      trustedMeters: await trustedMetersOf(receipts),
      shares: state.shares,
      previousRebates,
    })
    if (built.issues.length > 0)
      events.emit(
        'error',
        new SettlementError(
          'INVALID_RECEIPTS',
          `${built.issues.length} receipt chain issue(s); those chains stay unsettled.`,
          { details: JSON.stringify(built.issues.map((i) => i.type)) },
        ),
      )
    const { batchHash } = await writeBatchFile(batchDir, built.file)
    const record: BatchRecord = {
      assetId: assetId.toLowerCase() as Hex,
      epoch,
      status: 'built',
      revenue: BigInt(built.file.revenue),
      receiptCount: built.file.receiptCount,
      receiptsRoot: built.file.receiptsRoot,
      rebateRoot: built.file.rebateRoot,
      batchUri: uriOf(epoch),
      batchHash,
      txHash: null,
      createdAt: Math.floor(Date.now() / 1000),
    }
    await store.saveBatch(record)
    await store.markSettled({ assetId, epoch, hashes: built.included.map((r) => r.hash) })
    events.emit('batch:built', {
      epoch,
      revenue: record.revenue,
      receiptCount: record.receiptCount,
      batchUri: record.batchUri,
    })
    return submit(record, state, false)
  }

  /** A batch recorded but not confirmed: confirm it if the chain has it, else send it again. */
  async function resume(record: BatchRecord, state: AssetState): Promise<SettleResult> {
    if (state.epoch >= record.epoch) {
      const settled = await settledEvent(record.epoch)
      if (
        !settled ||
        settled.receiptsRoot !== record.receiptsRoot ||
        settled.rebateRoot !== record.rebateRoot
      )
        throw new SettlementError(
          'CHAIN_MISMATCH',
          `Epoch ${record.epoch} on chain is not the recorded batch.`,
        )
      return confirm(record, settled.txHash, true)
    }
    if (state.epoch !== record.epoch - 1)
      throw new SettlementError(
        'CHAIN_MISMATCH',
        `Recorded epoch ${record.epoch} does not follow the chain's ${state.epoch}.`,
      )
    const file = await readBatchFile(batchFilePath(batchDir, assetId, record.epoch), {
      domain: await getDomain(),
      batchHash: record.batchHash,
      receiptsRoot: record.receiptsRoot,
      rebateRoot: record.rebateRoot,
    })
    // The crash may have come between recording the batch and assigning its receipts.
    await store.markSettled({
      assetId,
      epoch: record.epoch,
      hashes: file.receipts.map((r) => r.hash),
    })
    if (record.txHash) {
      // Sent before the crash: wait for it if the node still has it, else send it again.
      const sent = await call(() => signer.provider!.getTransaction(record.txHash!))
      if (sent) {
        const mined = await sent.wait(confirmations).catch(() => null)
        if (mined?.status === 1) return confirm(record, record.txHash, true, mined.gasUsed)
        const now = await asset()
        if (now.epoch >= record.epoch) return resume(record, now)
      }
    }
    return submit(record, state, true)
  }

  async function submit(
    record: BatchRecord,
    state: AssetState,
    recovered: boolean,
  ): Promise<SettleResult> {
    const settler = await signer.getAddress()
    const token = new Contract(state.token, erc20Abi, signer)
    const allowance = (await call(() =>
      token.getFunction('allowance')(settler, options.contract),
    )) as bigint
    if (allowance < record.revenue)
      await (
        await call(
          async () =>
            token.getFunction('approve')(options.contract, record.revenue, {
              nonce: await pendingNonce(settler),
            }) as Promise<ContractTransactionResponse>,
        )
      ).wait(confirmations)
    let tx: ContractTransactionResponse
    try {
      tx = await call(
        async () =>
          contract.getFunction('settle')(
            assetId,
            record.epoch,
            record.revenue,
            record.receiptsRoot,
            record.rebateRoot,
            record.receiptCount,
            record.batchUri,
            record.batchHash,
            { nonce: await pendingNonce(settler) },
          ) as Promise<ContractTransactionResponse>,
      )
    } catch (error) {
      // Another attempt of this batch may have landed first: let the chain decide.
      const now = await asset()
      if (now.epoch >= record.epoch) return resume(record, now)
      throw new SettlementError('TX_REVERTED', `settle(epoch ${record.epoch}) was refused.`, {
        cause: error,
      })
    }
    const submitted = { ...record, status: 'submitted' as const, txHash: tx.hash as Hex }
    await store.saveBatch(submitted)
    events.emit('batch:submitted', { epoch: record.epoch, txHash: tx.hash as Hex })
    const receipt = await call(() => tx.wait(confirmations))
    if (receipt?.status !== 1)
      throw new SettlementError('TX_REVERTED', `settle(epoch ${record.epoch}) reverted.`)
    return confirm(submitted, tx.hash as Hex, recovered, receipt?.gasUsed)
  }

  async function confirm(
    record: BatchRecord,
    txHash: Hex,
    recovered: boolean,
    gasUsed?: bigint,
  ): Promise<SettleResult> {
    const gas =
      gasUsed ?? (await call(() => signer.provider!.getTransactionReceipt(txHash)))?.gasUsed ?? 0n
    await store.saveBatch({ ...record, status: 'confirmed', txHash })
    events.emit('batch:confirmed', { epoch: record.epoch, txHash, gasUsed: gas, recovered })
    return {
      status: 'settled',
      epoch: record.epoch,
      revenue: record.revenue,
      receiptCount: record.receiptCount,
      txHash,
      gasUsed: gas,
      recovered,
    }
  }

  /**
   * The settler's next nonce, asked of the node itself: ethers' provider caches
   * `eth_getTransactionCount` for 250 ms, which hands approve and settle sent back to back
   * the same nonce.
   */
  async function pendingNonce(address: string): Promise<number> {
    const provider = signer.provider as {
      send?: (method: string, params: unknown[]) => Promise<string>
    } | null
    if (typeof provider?.send !== 'function') return signer.getNonce('pending')
    return Number(await call(() => provider.send!('eth_getTransactionCount', [address, 'pending'])))
  }

  async function settledEvent(epoch: number) {
    const logs = await call(() => contract.queryFilter(contract.filters.Settled!(assetId)))
    for (const log of logs) {
      const args = (log as unknown as { args: Record<string, unknown> }).args
      if (Number(args.epoch) === epoch)
        return {
          receiptsRoot: String(args.receiptsRoot).toLowerCase() as Hex,
          rebateRoot: String(args.rebateRoot).toLowerCase() as Hex,
          txHash: log.transactionHash as Hex,
        }
    }
    return undefined
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

  async function trustedMetersOf(receipts: readonly StoredReceipt[]): Promise<Address[]> {
    const meters = [...new Set(receipts.map((r) => r.receipt.meter.toLowerCase()))]
    const allowed = await Promise.all(
      meters.map((m) =>
        call(() => contract.getFunction('isMeter')(assetId, m) as Promise<boolean>),
      ),
    )
    return meters.filter((_, i) => allowed[i]) as Address[]
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

    /** The user's cumulative rebate and its proof in the latest settled batch. */
    async proofFor(user: Address): Promise<RebateProof | undefined> {
      const state = await asset()
      if (state.epoch === 0) return undefined
      const file = await readBatchFile(batchFilePath(batchDir, assetId, state.epoch), {
        domain: await getDomain(),
        rebateRoot: state.rebateRoot,
      })
      const line = file.rebates.find((r) => r.user === user.toLowerCase())
      if (!line) return undefined
      const tree = createRebateTree(
        file.rebates.map((r) => ({ user: r.user, cumulativeAmount: BigInt(r.cumulativeAmount) })),
      )
      const entry = tree.entry(user)
      const claimed = (await call(() =>
        contract.getFunction('rebateClaimed')(assetId, user),
      )) as bigint
      return {
        user: entry.user,
        epoch: state.epoch,
        cumulativeAmount: entry.cumulativeAmount,
        claimed,
        proof: tree.getProof(entry),
      }
    },

    /** Claims a user's rebates of every settled epoch at once (any signer may send it). */
    async claimRebate(user: Address, claimOptions: { signer?: Signer } = {}) {
      const proof = await this.proofFor(user)
      if (!proof || proof.cumulativeAmount <= proof.claimed)
        throw new SettlementError('NOTHING_TO_CLAIM', `User ${user} has no rebate to claim.`)
      const tx = (await contract.connect(claimOptions.signer ?? signer).getFunction('claimRebate')(
        assetId,
        user,
        proof.cumulativeAmount,
        proof.proof,
      )) as ContractTransactionResponse
      const receipt = await tx.wait(confirmations)
      return {
        amount: proof.cumulativeAmount - proof.claimed,
        txHash: tx.hash as Hex,
        gasUsed: receipt?.gasUsed ?? 0n,
      }
    },

    /** Claims a supporter's rewards (the signer is the supporter). */
    async claimRewards(supporter: Signer) {
      const tx = (await contract.connect(supporter).getFunction('claimRewards')(
        assetId,
      )) as ContractTransactionResponse
      const receipt = await tx.wait(confirmations)
      return { txHash: tx.hash as Hex, gasUsed: receipt?.gasUsed ?? 0n }
    },

    /** Pays the issuer everything owed to it (any signer may send it). */
    async claimIssuer(claimOptions: { signer?: Signer } = {}) {
      const tx = (await contract.connect(claimOptions.signer ?? signer).getFunction('claimIssuer')(
        assetId,
      )) as ContractTransactionResponse
      const receipt = await tx.wait(confirmations)
      return { txHash: tx.hash as Hex, gasUsed: receipt?.gasUsed ?? 0n }
    },

    /** Per role: funded by settlements, claimed, and still claimable, read from the chain. */
    async payouts(): Promise<Payouts> {
      const state = await asset()
      return { epoch: state.epoch, ...state.payouts }
    },
  }
}
