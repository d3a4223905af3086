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
  zeroHash,
} from '@rma/core'
import { BatchFileError } from './errors.js'

/** One user's rebate of one epoch: its part of that epoch's users' share, pro rata to spend. */
export type RebateLine = { user: Address; amount: string }

/**
 * The batch file: everything an auditor needs to check a settlement without trusting anyone.
 * Its keccak256 is `batchHash` on chain and its name (content-addressed, so two settlers never
 * write over each other's file); the trees are OpenZeppelin `standard-v1` dumps.
 */
export type BatchFile = {
  version: 2
  assetId: Hex
  epoch: number
  chainId: string
  contract: Address
  revenue: string
  receiptCount: number
  split: { issuer: string; supporters: string; users: string; protocol: string }
  receiptsRoot: Hex
  /** Root of this epoch's rebates only; the zero hash when no user is owed anything. */
  rebateRoot: Hex
  /** Every receipt of the batch in its compact encoding, ordered by (meter, user, seq). */
  receipts: { id: string; hash: Hex; encoded: string }[]
  /** This epoch's rebates, from this epoch's receipts only (users ordered by address). */
  rebates: RebateLine[]
  receiptsTree: ReturnType<MerkleTree<Hex>['dump']>
  rebateTree: ReturnType<MerkleTree<RebateEntry>['dump']> | null
}

/**
 * Where a batch file lives under the batch directory: `<assetId>/<batchHash>.json`. The name
 * is the content's hash, so a file is written once and never replaced by another batch.
 */
export function batchFilePath(directory: string, assetId: Hex, batchHash: Hex): string {
  return join(directory, batchFileName(assetId, batchHash))
}

/** The batch file's path relative to the batch directory (and to `batchBaseUri`). */
export function batchFileName(assetId: Hex, batchHash: Hex): string {
  return `${assetId.toLowerCase()}/${batchHash.toLowerCase()}.json`
}

/**
 * The rebate tree of one epoch: leaves `(address user, uint256 amount)`. core's rebate tree
 * has the same leaf encoding; its field is named after the old cumulative amount.
 */
export function epochRebateTree(rebates: readonly RebateLine[]) {
  const entries = rebates.map((r) => ({ user: r.user, cumulativeAmount: BigInt(r.amount) }))
  return entries.length === 0 ? null : createRebateTree(entries)
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
 * Writes a batch file atomically (temporary file, then rename) under its content hash and
 * returns the hash. Writing the same batch twice writes the same bytes to the same name.
 *
 * @example
 * const { path, batchHash } = await writeBatchFile('./.rma/batches', file)
 */
export async function writeBatchFile(
  directory: string,
  file: BatchFile,
): Promise<{ path: string; batchHash: Hex }> {
  const { bytes, batchHash } = serializeBatchFile(file)
  const path = batchFilePath(directory, file.assetId, batchHash)
  await writeAtomically(path, bytes)
  return { path, batchHash }
}

/** Temporary file (unique per process) then rename, so a reader never sees half a file. */
export async function writeAtomically(path: string, bytes: Buffer | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  await writeFile(temporary, bytes)
  await rename(temporary, path)
}

/** What a batch file must match: the chain's commitments (any left out are not checked). */
export type BatchFileExpectation = {
  domain: RmaDomain
  batchHash?: Hex
  receiptsRoot?: Hex
  rebateRoot?: Hex
}

/**
 * Reads a batch file and checks it against what the chain committed: its hash, and both roots
 * rebuilt from its own receipts and rebates (every receipt is decoded and re-hashed).
 * Throws `BatchFileError` (`BATCH_FILE`) on any difference.
 *
 * @example
 * const file = await readBatchFile(path, { domain, batchHash, receiptsRoot, rebateRoot })
 */
export async function readBatchFile(
  path: string,
  expected: BatchFileExpectation,
): Promise<BatchFile> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (cause) {
    throw new BatchFileError({ shortMessage: `Batch file ${path} cannot be read.`, cause })
  }
  return parseBatchFile(bytes, path, expected)
}

/**
 * Parses a batch file's bytes and checks them as `readBatchFile` does; `source` names them in
 * errors (a path or a URL).
 *
 * @example
 * const file = parseBatchFile(bytes, url, { domain, batchHash })
 */
export function parseBatchFile(
  bytes: Uint8Array,
  source: string,
  expected: BatchFileExpectation,
): BatchFile {
  const fail = (why: string) =>
    new BatchFileError({
      shortMessage: `Batch file ${source} does not match the chain.`,
      details: why,
    })
  if (expected.batchHash && hashBytes(bytes) !== expected.batchHash.toLowerCase())
    throw fail('Its hash differs from batchHash.')
  let file: BatchFile
  try {
    file = JSON.parse(Buffer.from(bytes).toString('utf8')) as BatchFile
  } catch (cause) {
    throw new BatchFileError({ shortMessage: `Batch file ${source} is not JSON.`, cause })
  }
  if (file?.version !== 2) throw fail(`Version ${String(file?.version)} is not 2.`)
  const hashes = file.receipts.map((r) => hashReceipt(decodeReceipt(r.encoded), expected.domain))
  if (hashes.some((h, i) => h !== file.receipts[i]!.hash))
    throw fail('A receipt hash does not match its receipt.')
  const receiptsRoot = createReceiptsTree(hashes).root
  const rebateRoot = epochRebateTree(file.rebates)?.root ?? zeroHash
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
