import {
  BaseError,
  createPriceTableTree,
  type Hex,
  type PriceTable,
  type PriceTableTree,
} from '@rma/core'
import { Contract, type ContractRunner, type Signer } from 'ethers'
import { InvalidSettlementOptionsError } from './errors.js'
import { sendClaim } from './sendClaim.js'

/**
 * The price-table entry points of the settlement contract (issue #15). A minimal ABI of its own
 * so this helper works whichever artifact version the package was built with.
 */
export const priceTableAbi = [
  'function commitPriceTable(bytes32 assetId, bytes32 root, uint64 effectiveFrom, string uri)',
  'function priceTableOf(bytes32 assetId, bytes32 root) view returns (uint64 version, uint64 effectiveFrom)',
  'event PriceTableCommitted(bytes32 indexed assetId, bytes32 indexed root, uint64 version, uint64 effectiveFrom, string uri)',
] as const

export type CommitPriceTableParameters = {
  /** The issuer's signer (only the asset's issuer may commit). */
  signer: Signer
  /** The settlement contract's address. */
  contract: string
  assetId: Hex
  table: PriceTable
  /** Unix seconds: the version of `table` to commit (the tree holds the prices in force then). */
  effectiveFrom: number
  /** Where the full table is published (for challengers and auditors). */
  uri: string
  confirmations?: number
}

export type CommitPriceTableReturnType = {
  root: Hex
  tree: PriceTableTree
  txHash: Hex
  gasUsed: bigint
}

/**
 * Commits the price-table version of `table` in force at `effectiveFrom` for an asset: builds
 * its tree (`createPriceTableTree`), then sends `commitPriceTable(assetId, root, effectiveFrom,
 * uri)`. Receipts the meter signs with this version carry `root` as their `priceTable`, and a
 * mispricing proof checks them against it. Throws `SettlementError` `INVALID_OPTIONS` for a
 * table that cannot be committed, `TX_REVERTED` with the decoded reason when the chain refuses.
 *
 * @example
 * const { root } = await commitPriceTable({ signer: issuer, contract, assetId, table: prices, effectiveFrom: 0, uri: 'https://example.com/prices.json' })
 */
export async function commitPriceTable(
  parameters: CommitPriceTableParameters,
): Promise<CommitPriceTableReturnType> {
  const { signer, contract, assetId, table, effectiveFrom, uri } = parameters
  if (!Number.isSafeInteger(effectiveFrom) || effectiveFrom < 0)
    throw new InvalidSettlementOptionsError({
      shortMessage: '`effectiveFrom` must be unix seconds.',
    })
  if (typeof uri !== 'string')
    throw new InvalidSettlementOptionsError({
      shortMessage: '`uri` must be a string (where the table is published).',
    })
  let tree: PriceTableTree
  try {
    tree = createPriceTableTree(table, { at: effectiveFrom })
  } catch (error) {
    if (error instanceof BaseError)
      throw new InvalidSettlementOptionsError({ shortMessage: error.shortMessage, cause: error })
    throw error
  }
  const settlement = priceTableContract(contract, signer)
  const sent = await sendClaim(
    'commitPriceTable',
    () => settlement.getFunction('commitPriceTable')(assetId, tree.root, effectiveFrom, uri),
    parameters.confirmations ?? 1,
  )
  return { root: tree.root, tree, ...sent }
}

/**
 * Whether an asset committed a price-table root: its version and effective time (version 0:
 * not committed).
 *
 * @example
 * const { version } = await readPriceTableCommitment({ runner: provider, contract, assetId, root })
 */
export async function readPriceTableCommitment(parameters: {
  runner: ContractRunner
  contract: string
  assetId: Hex
  root: Hex
}): Promise<{ version: bigint; effectiveFrom: bigint }> {
  const { runner, contract, assetId, root } = parameters
  const [version, effectiveFrom] = (await priceTableContract(contract, runner).getFunction(
    'priceTableOf',
  )(assetId, root)) as [bigint, bigint]
  return { version, effectiveFrom }
}

function priceTableContract(address: string, runner: ContractRunner): Contract {
  return new Contract(address, priceTableAbi as unknown as string[], runner)
}
