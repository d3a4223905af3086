import {
  type Address,
  allocateProRata,
  type ChainAnchor,
  type ChainIssue,
  chainKey,
  createReceiptsTree,
  encodeReceipt,
  type Hex,
  type RevenueShares,
  type RmaDomain,
  type StoredReceipt,
  splitRevenue,
  verifyReceiptChain,
  zeroHash,
} from '@rma/core'
import { type BatchFile, epochRebateTree, type RebateLine, splitToStrings } from './batchFile.js'
import { InvalidBatchReceiptsError } from './errors.js'

export type BuildBatchParameters = {
  assetId: Hex
  epoch: number
  chainId: bigint
  contract: Address
  domain: RmaDomain
  /** Unsettled receipts, ordered by (meter, user, seq). */
  receipts: readonly StoredReceipt[]
  /** The last settled receipt of each chain continued here. */
  anchors: ReadonlyMap<string, ChainAnchor>
  trustedMeters: readonly Address[]
  shares: RevenueShares
}

export type BuildBatchReturnType = {
  file: BatchFile
  /** Receipts in the batch: every receipt of every chain that verified. */
  included: StoredReceipt[]
  /** Problems of the chains left out; their receipts stay unsettled. */
  issues: ChainIssue[]
}

/**
 * Builds one batch: verifies the receipts as chains (one signature per chain head), leaves out
 * every chain with an issue, sums the revenue, splits it with `splitRevenue`, divides the
 * users' share by this epoch's spend with `allocateProRata` (users ordered by address), and
 * builds the receipts tree and this epoch's rebate tree (a user whose part rounds to 0 gets no
 * leaf; no leaf at all gives the zero root). Earlier epochs are never read: each epoch's
 * rebates come from its own receipts only, and stay claimable under their own root.
 *
 * @example
 * const { file, included, issues } = buildBatch({ assetId, epoch: 3, chainId, contract, domain, receipts, anchors, trustedMeters, shares })
 */
export function buildBatch(parameters: BuildBatchParameters): BuildBatchReturnType {
  const { receipts, domain } = parameters
  const verified = verifyReceiptChain(
    receipts.map((r) => r.receipt),
    parameters.trustedMeters,
    { domain, anchors: parameters.anchors },
  )
  const bad = new Set<string>()
  for (const issue of verified.issues)
    if (issue.type === 'invalidReceipt') {
      const r = receipts[issue.index]!.receipt
      bad.add(chainKey(r.assetId, r.meter, r.user))
    } else bad.add(chainKey(issue.assetId, issue.meter, issue.user))
  const included = receipts.filter(
    (r) => !bad.has(chainKey(r.receipt.assetId, r.receipt.meter, r.receipt.user)),
  )
  if (included.length === 0)
    throw new InvalidBatchReceiptsError({
      shortMessage: 'No receipt chain verified; nothing to settle.',
      details: verified.issues.map((i) => i.type).join(', '),
    })

  let revenue = 0n
  const spend = new Map<string, bigint>()
  for (const { receipt } of included) {
    revenue += receipt.amount
    const user = receipt.user.toLowerCase()
    spend.set(user, (spend.get(user) ?? 0n) + receipt.amount)
  }
  const split = splitRevenue(revenue, parameters.shares)
  const users = [...spend.keys()].sort()
  const parts = allocateProRata(
    split.users,
    users.map((u) => spend.get(u)!),
  )
  const rebates: RebateLine[] = []
  users.forEach((user, i) => {
    if (parts[i]! > 0n) rebates.push({ user: user as Address, amount: parts[i]!.toString() })
  })

  const hashes = included.map((r) => r.hash)
  const receiptsTree = createReceiptsTree(hashes)
  const rebateTree = epochRebateTree(rebates)
  const file: BatchFile = {
    version: 2,
    assetId: parameters.assetId.toLowerCase() as Hex,
    epoch: parameters.epoch,
    chainId: parameters.chainId.toString(),
    contract: parameters.contract.toLowerCase() as Address,
    revenue: revenue.toString(),
    receiptCount: included.length,
    split: splitToStrings(split),
    receiptsRoot: receiptsTree.root,
    rebateRoot: rebateTree?.root ?? zeroHash,
    receipts: included.map((r) => ({ id: r.id, hash: r.hash, encoded: encodeReceipt(r.receipt) })),
    rebates,
    receiptsTree: receiptsTree.dump(),
    rebateTree: rebateTree?.dump() ?? null,
  }
  return { file, included, issues: verified.issues }
}
