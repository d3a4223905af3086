import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Hex } from '@rma/core'
import { type BatchFile, epochRebateTree, writeAtomically } from './batchFile.js'
import { ProofIndexError } from './errors.js'

/**
 * Every rebate proof of one epoch, computed once when the batch is built, so serving a proof
 * is a lookup, not a re-read and re-hash of the batch file.
 */
export type ProofIndex = {
  version: 1
  assetId: Hex
  epoch: number
  /** The batch the proofs come from. */
  batchHash: Hex
  rebateRoot: Hex
  /** By user address (lower case): this epoch's rebate and its proof under `rebateRoot`. */
  rebates: Record<string, { amount: string; proof: Hex[] }>
}

/**
 * Where the proof index of a batch lives: `<assetId>/<batchHash>.proofs.json` under the batch
 * directory, beside the batch file it is derived from.
 */
export function proofIndexPath(directory: string, assetId: Hex, batchHash: Hex): string {
  return join(directory, `${assetId.toLowerCase()}/${batchHash.toLowerCase()}.proofs.json`)
}

/**
 * Computes the proof index of a batch: one proof per rebate line of its epoch.
 *
 * @example
 * const index = createProofIndex(file, batchHash)
 * index.rebates[user.toLowerCase()] // { amount: '1200', proof: ['0x…'] }
 */
export function createProofIndex(file: BatchFile, batchHash: Hex): ProofIndex {
  const tree = epochRebateTree(file.rebates)
  const rebates: ProofIndex['rebates'] = {}
  if (tree)
    for (const line of file.rebates) {
      const entry = tree.entry(line.user)
      rebates[line.user.toLowerCase()] = { amount: line.amount, proof: tree.getProof(entry) }
    }
  return {
    version: 1,
    assetId: file.assetId,
    epoch: file.epoch,
    batchHash: batchHash.toLowerCase() as Hex,
    rebateRoot: file.rebateRoot,
    rebates,
  }
}

/**
 * Writes a proof index atomically. The content follows from the batch, so two settlers
 * writing the index of the same batch write the same bytes.
 *
 * @example
 * await writeProofIndex('./.rma/batches', createProofIndex(file, batchHash))
 */
export async function writeProofIndex(directory: string, index: ProofIndex): Promise<string> {
  const path = proofIndexPath(directory, index.assetId, index.batchHash)
  await writeAtomically(path, `${JSON.stringify(index)}\n`)
  return path
}

/**
 * Reads a proof index; throws `ProofIndexError` (`PROOF_INDEX`) when it is missing, unreadable
 * or belongs to another batch.
 *
 * @example
 * const index = await readProofIndex(proofIndexPath(dir, assetId, batchHash), { epoch: 3 })
 */
export async function readProofIndex(
  path: string,
  expected: { epoch: number; rebateRoot?: Hex },
): Promise<ProofIndex> {
  let index: ProofIndex
  try {
    index = JSON.parse(await readFile(path, 'utf8')) as ProofIndex
  } catch (cause) {
    throw new ProofIndexError({
      shortMessage: `The proof index of epoch ${expected.epoch} cannot be read.`,
      details: path,
      cause,
    })
  }
  if (
    index.version !== 1 ||
    index.epoch !== expected.epoch ||
    (expected.rebateRoot && index.rebateRoot !== expected.rebateRoot.toLowerCase())
  )
    throw new ProofIndexError({
      shortMessage: `The proof index at ${path} is not the one of epoch ${expected.epoch}.`,
    })
  return index
}
