import { getSettlementContract } from '@rma/contracts'
import type { Address, BatchRecord, Hex, ReceiptStore } from '@rma/core'
import type { ContractRunner } from 'ethers'
import { type ProofIndex, proofIndexPath, readProofIndex } from './proofIndex.js'
import { type RetryOptions, withRetry } from './withRetry.js'

/** One epoch's rebate of a user, with its proof under that epoch's root. */
export type RebateClaim = { epoch: number; amount: bigint; proof: Hex[] }

/** Every settled epoch's unclaimed rebate of a user: one `claimRebates` call claims them all. */
export type RebateProof = {
  user: Address
  claims: RebateClaim[]
  /** The sum of `claims`' amounts. */
  total: bigint
}

export type RebateProverOptions = {
  /** The store the settler records its batches in. */
  store: ReceiptStore
  /** The settlement contract's address. */
  contract: Address
  /** Reads the chain (a provider or a signer). */
  runner: ContractRunner
  assetId: Hex
  /** The settler's batch directory, where each batch's proof index is written. */
  batchDir?: string
  /** Proof indexes kept in memory (default 256 epochs); each is immutable once written. */
  cacheSize?: number
  retry?: RetryOptions
}

export type RebateProver = ReturnType<typeof createRebateProver>

/**
 * Serves rebate proofs from the proof indexes the settler writes once per batch: a lookup per
 * confirmed epoch and one `rebateClaimed` read per epoch the user has a rebate in, never a
 * re-read or re-hash of a batch file.
 *
 * @example
 * const prover = createRebateProver({ store, contract, runner: provider, assetId, batchDir })
 * app.use(rmaRouter({ meter, proofs: prover.proofFor }))
 */
export function createRebateProver(options: RebateProverOptions) {
  const { store, assetId } = options
  const contract = getSettlementContract(options.contract, options.runner)
  const batchDir = options.batchDir ?? './.rma/batches'
  const cacheSize = options.cacheSize ?? 256
  const call = <T>(step: () => Promise<T>) => withRetry(step, options.retry ?? {})
  /** Confirmed batch records never change; nor do their indexes. */
  const confirmed = new Map<number, BatchRecord>()
  const indexes = new Map<number, ProofIndex>()

  async function indexOf(record: BatchRecord): Promise<ProofIndex> {
    const cached = indexes.get(record.epoch)
    if (cached) {
      // Least recently used goes first: re-insert on use.
      indexes.delete(record.epoch)
      indexes.set(record.epoch, cached)
      return cached
    }
    const index = await readProofIndex(proofIndexPath(batchDir, assetId, record.batchHash), {
      epoch: record.epoch,
      rebateRoot: record.rebateRoot,
    })
    indexes.set(record.epoch, index)
    if (indexes.size > cacheSize) indexes.delete(indexes.keys().next().value!)
    return index
  }

  async function confirmedBatches(): Promise<BatchRecord[]> {
    const latest = await store.latestBatch(assetId)
    const last = latest?.status === 'confirmed' ? latest.epoch : (latest?.epoch ?? 1) - 1
    for (let epoch = 1; epoch <= last; epoch++) {
      if (confirmed.has(epoch)) continue
      const record = epoch === latest?.epoch ? latest : await store.getBatch(assetId, epoch)
      if (record?.status === 'confirmed') confirmed.set(epoch, record)
    }
    return [...confirmed.values()].filter((r) => r.epoch <= last)
  }

  return {
    /**
     * The user's unclaimed rebates of every confirmed and released epoch (not in a challenge
     * window, not vetoed), with proofs, or undefined when nothing is left to claim. Throws `ProofIndexError` (`PROOF_INDEX`) when an index is
     * missing.
     */
    async proofFor(user: Address): Promise<RebateProof | undefined> {
      const candidates: RebateClaim[] = []
      for (const record of await confirmedBatches()) {
        const line = (await indexOf(record)).rebates[user.toLowerCase()]
        if (line)
          candidates.push({ epoch: record.epoch, amount: BigInt(line.amount), proof: line.proof })
      }
      const claimed = await Promise.all(
        candidates.map((c) => call(() => contract.rebateClaimed(assetId, c.epoch, user))),
      )
      const unclaimed = candidates.filter((_, i) => !claimed[i])
      // Only released epochs pay: a pending one (challenge window) would make the whole
      // claimRebates revert EpochPending, and a vetoed one never pays.
      const states = await Promise.all(
        unclaimed.map((c) => call(() => contract.epochStateOf(assetId, c.epoch))),
      )
      const claims = unclaimed.filter((_, i) => states[i]!.state === 2n)
      if (claims.length === 0) return undefined
      return {
        user: user.toLowerCase() as Address,
        claims,
        total: claims.reduce((sum, c) => sum + c.amount, 0n),
      }
    },
  }
}
