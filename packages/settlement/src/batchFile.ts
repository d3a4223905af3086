import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import {
  type Address,
  createRebateTree,
  createReceiptsTree,
  decodeReceipt,
  type Hex,
  hashBytes,
  hashReceipt,
  type MerkleTree,
  type RebateEntry,
  type RevenueSplit,
  type RmaDomain,
} from '@rma/core'
import { SettlementError } from './errors.js'

/** One user's rebate line in a batch: this epoch's part and the running total the tree commits to. */
export type RebateLine = { user: Address; epochAmount: string; cumulativeAmount: string }

/**
 * The batch file: everything an auditor needs to check a settlement without trusting anyone.
 * Its keccak256 is `batchHash` on chain; the trees are OpenZeppelin `standard-v1` dumps.
 */
export type BatchFile = {
  version: 1
  assetId: Hex
  epoch: number
  chainId: string
  contract: Address
  revenue: string
  receiptCount: number
  split: { issuer: string; supporters: string; users: string; protocol: string }
  receiptsRoot: Hex
  rebateRoot: Hex
  /** Every receipt of the batch in its compact encoding, ordered by (meter, user, seq). */
  receipts: { id: string; hash: Hex; encoded: string }[]
  /** Every user who ever had a rebate, cumulative over all epochs up to this one. */
  rebates: RebateLine[]
  receiptsTree: ReturnType<MerkleTree<Hex>['dump']>
  rebateTree: ReturnType<MerkleTree<RebateEntry>['dump']>
}

/** Where an asset's batch file of an epoch lives under the batch directory. */
export function batchFilePath(directory: string, assetId: Hex, epoch: number): string {
  return join(directory, assetId.toLowerCase(), `${epoch}.json`)
}

/**
 * Serialises a batch file (fixed key order, so the bytes and their hash are reproducible).
 *
 * @example
 * const { bytes, batchHash } = serializeBatchFile(file)
 */
export function serializeBatchFile(file: BatchFile): { bytes: Buffer; batchHash: Hex } {
  const bytes = Buffer.from(`${JSON.stringify(file, null, 1)}\n`)
  return { bytes, batchHash: hashBytes(bytes) }
}

/**
 * Writes a batch file atomically (temporary file, then rename) and returns its hash.
 *
 * @example
 * const { path, batchHash } = await writeBatchFile('./.rma/batches', file)
 */
export async function writeBatchFile(
  directory: string,
  file: BatchFile,
): Promise<{ path: string; batchHash: Hex }> {
  const path = batchFilePath(directory, file.assetId, file.epoch)
  const { bytes, batchHash } = serializeBatchFile(file)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(`${path}.tmp`, bytes)
  await rename(`${path}.tmp`, path)
  return { path, batchHash }
}

/**
 * Reads a batch file and checks it against what the chain committed: its hash, and both roots
 * rebuilt from its own receipts and rebates (every receipt is decoded and re-hashed).
 * Throws `SettlementError('BATCH_FILE')` on any difference.
 *
 * @example
 * const file = await readBatchFile(path, { domain, batchHash, receiptsRoot, rebateRoot })
 */
export async function readBatchFile(
  path: string,
  expected: { domain: RmaDomain; batchHash?: Hex; receiptsRoot?: Hex; rebateRoot?: Hex },
): Promise<BatchFile> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (cause) {
    throw new SettlementError('BATCH_FILE', `Batch file ${path} cannot be read.`, { cause })
  }
  const fail = (why: string) =>
    new SettlementError('BATCH_FILE', `Batch file ${path} does not match the chain.`, {
      details: why,
    })
  if (expected.batchHash && hashBytes(bytes) !== expected.batchHash.toLowerCase())
    throw fail('Its hash differs from batchHash.')
  const file = JSON.parse(bytes.toString('utf8')) as BatchFile
  const hashes = file.receipts.map((r) => hashReceipt(decodeReceipt(r.encoded), expected.domain))
  if (hashes.some((h, i) => h !== file.receipts[i]!.hash))
    throw fail('A receipt hash does not match its receipt.')
  const receiptsRoot = createReceiptsTree(hashes).root
  const rebateRoot = createRebateTree(
    file.rebates.map((r) => ({ user: r.user, cumulativeAmount: BigInt(r.cumulativeAmount) })),
  ).root
  if (receiptsRoot !== file.receiptsRoot || rebateRoot !== file.rebateRoot)
    throw fail('Its roots differ from its contents.')
  if (expected.receiptsRoot && receiptsRoot !== expected.receiptsRoot.toLowerCase())
    throw fail('receiptsRoot differs.')
  if (expected.rebateRoot && rebateRoot !== expected.rebateRoot.toLowerCase())
    throw fail('rebateRoot differs.')
  return file
}

export function splitToStrings(split: RevenueSplit): BatchFile['split'] {
  return {
    issuer: split.issuer.toString(),
    supporters: split.supporters.toString(),
    users: split.users.toString(),
    protocol: split.protocol.toString(),
  }
}
