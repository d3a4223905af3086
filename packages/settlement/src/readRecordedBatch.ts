import { access } from 'node:fs/promises'
import type { BatchRecord, RmaDomain } from '@rma/core'
import {
  type BatchFile,
  batchFilePath,
  parseBatchFile,
  readBatchFile,
  writeAtomically,
} from './batchFile.js'
import { BatchFileError } from './errors.js'

/**
 * The batch file of a recorded batch, checked against the record (hash and roots). Read from
 * the batch directory; when it is not there (a settler on another machine recorded it) and its
 * URI is HTTP(S), fetched from the URI, checked, and kept in the batch directory.
 *
 * @example
 * const file = await readRecordedBatch(record, { batchDir, domain })
 */
export async function readRecordedBatch(
  record: BatchRecord,
  options: { batchDir: string; domain: RmaDomain; fetch?: typeof fetch },
): Promise<BatchFile> {
  const path = batchFilePath(options.batchDir, record.assetId, record.batchHash)
  const expected = {
    domain: options.domain,
    batchHash: record.batchHash,
    receiptsRoot: record.receiptsRoot,
    rebateRoot: record.rebateRoot,
  }
  const local = await access(path).then(
    () => true,
    () => false,
  )
  if (local || !/^https?:\/\//i.test(record.batchUri)) return readBatchFile(path, expected)
  const response = await (options.fetch ?? fetch)(record.batchUri).catch((cause: unknown) => {
    throw new BatchFileError({
      shortMessage: `Batch file ${record.batchUri} cannot be fetched.`,
      cause,
    })
  })
  if (!response.ok)
    throw new BatchFileError({
      shortMessage: `Batch file ${record.batchUri} answered HTTP ${response.status}.`,
    })
  const bytes = new Uint8Array(await response.arrayBuffer())
  const file = parseBatchFile(bytes, record.batchUri, expected)
  await writeAtomically(path, Buffer.from(bytes))
  return file
}
