import {
  type Address,
  decodeReceipt,
  type Hex,
  hashReceipt,
  type RmaDomain,
  type SignedUsageReceipt,
} from '@rma/core'
import { InvalidBatchError } from './errors.js'

/** One receipt of a batch file, decoded, with the hash the audit computed itself. */
export type BatchReceipt = {
  receipt: SignedUsageReceipt
  /** `hashReceipt` of the decoded receipt under the asset's domain. */
  hash: Hex
  /** The hash the file states beside it (compared, never trusted). */
  statedHash: string
}

/** The parts of a batch file the audit reads; everything else in the file is ignored. */
export type BatchContents = {
  assetId: string
  epoch: number
  chainId: string
  contract: string
  receipts: BatchReceipt[]
  /** The file's own rebate lines (what the settler says it committed). */
  rebates: { user: Address; amount: bigint }[]
}

/**
 * Reads a batch file (format version 2, `docs/protocol.md`) from bytes already checked against
 * the on-chain hash, validating each field it uses, decoding every receipt and hashing it
 * under `domain`. Written apart from the settlement client's reader on purpose: the audit must
 * not share the code it checks. Throws `InvalidBatchError` (`BATCH_INVALID`).
 *
 * @example
 * const batch = parseBatch(bytes, { uri, domain })
 */
export function parseBatch(
  bytes: Uint8Array,
  context: { uri: string; domain: RmaDomain },
): BatchContents {
  const invalid = (why: string, cause?: unknown) =>
    new InvalidBatchError({
      shortMessage: `Batch file ${context.uri} is not a valid batch file (${why}): the settler committed a file auditors cannot read.`,
      cause,
    })
  let file: unknown
  try {
    file = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (cause) {
    throw invalid('not JSON', cause)
  }
  if (!isRecord(file)) throw invalid('not a JSON object')
  if (file.version !== 2) throw invalid(`version ${String(file.version)}, expected 2`)
  if (typeof file.assetId !== 'string') throw invalid('no assetId')
  if (!Number.isSafeInteger(file.epoch)) throw invalid('no epoch')
  if (!Array.isArray(file.receipts)) throw invalid('no receipts list')
  if (!Array.isArray(file.rebates)) throw invalid('no rebates list')
  const receipts: BatchReceipt[] = file.receipts.map((entry: unknown, i: number) => {
    if (!isRecord(entry) || typeof entry.encoded !== 'string')
      throw invalid(`receipt ${i} has no encoded form`)
    let receipt: SignedUsageReceipt
    try {
      receipt = decodeReceipt(entry.encoded)
    } catch (cause) {
      throw invalid(`receipt ${i} does not decode`, cause)
    }
    return {
      receipt,
      hash: hashReceipt(receipt, context.domain),
      statedHash: typeof entry.hash === 'string' ? entry.hash.toLowerCase() : '',
    }
  })
  const rebates = file.rebates.map((line: unknown, i: number) => {
    if (
      !isRecord(line) ||
      typeof line.user !== 'string' ||
      !/^0x[0-9a-fA-F]{40}$/.test(line.user) ||
      typeof line.amount !== 'string' ||
      !/^(0|[1-9][0-9]{0,77})$/.test(line.amount)
    )
      throw invalid(`rebate line ${i} is malformed`)
    return { user: line.user.toLowerCase() as Address, amount: BigInt(line.amount) }
  })
  return {
    assetId: String(file.assetId).toLowerCase(),
    epoch: file.epoch as number,
    chainId: String(file.chainId),
    contract: String(file.contract).toLowerCase(),
    receipts,
    rebates,
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
