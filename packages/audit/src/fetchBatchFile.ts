import { open } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import {
  AuditAbortedError,
  AuditError,
  BatchMissingError,
  BatchTimeoutError,
  BatchTooLargeError,
  BatchTruncatedError,
  BatchUnavailableError,
  UnsupportedUriError,
} from './errors.js'

/** Fetches a batch file's bytes; `auditAsset` and the explorer take one to reach other schemes. */
export type FetchBatch = (
  uri: string,
  options: { signal: AbortSignal; maxBytes: number },
) => Promise<Uint8Array>

export type FetchBatchFileOptions = {
  /** The whole transfer, headers and body (default 30 s). */
  timeoutMs?: number
  /** Larger files are refused (default 256 MiB). */
  maxBytes?: number
  signal?: AbortSignal
  fetch?: typeof fetch
}

export const defaultBatchTimeoutMs = 30_000
export const defaultMaxBatchBytes = 256 * 1024 * 1024

/**
 * Fetches a batch file by its on-chain URI: `http(s)://` (redirects followed) or `file://`.
 * Bounded in time and size; every failure is an `AuditError` of one sentence: `BATCH_MISSING`
 * (404, 410, no such file), `BATCH_UNAVAILABLE` (unreachable, other HTTP status),
 * `BATCH_TIMEOUT`, `BATCH_TOO_LARGE`, `BATCH_TRUNCATED` (fewer bytes than announced) or
 * `UNSUPPORTED_URI`. The bytes are not checked here: compare their hash with the chain's.
 *
 * @example
 * const bytes = await fetchBatchFile(epoch.batchUri, { timeoutMs: 10_000 })
 */
export async function fetchBatchFile(
  uri: string,
  options: FetchBatchFileOptions = {},
): Promise<Uint8Array> {
  const timeoutMs = options.timeoutMs ?? defaultBatchTimeoutMs
  const maxBytes = options.maxBytes ?? defaultMaxBatchBytes
  const timeout = AbortSignal.timeout(timeoutMs)
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase()
  try {
    if (scheme === 'http' || scheme === 'https')
      return await fetchHttp(uri, maxBytes, signal, options.fetch ?? fetch)
    if (scheme === 'file') return await readLocal(uri, maxBytes, signal)
  } catch (error) {
    if (error instanceof AuditError) throw error
    if (options.signal?.aborted)
      throw new AuditAbortedError({ shortMessage: 'The audit was aborted.', cause: error })
    if (timeout.aborted)
      throw new BatchTimeoutError({
        shortMessage: `Batch file ${uri} did not arrive within ${timeoutMs / 1000} s: check its host, or raise the timeout.`,
        cause: error,
      })
    throw new BatchUnavailableError({
      shortMessage: `Batch file ${uri} cannot be fetched (${causeOf(error)}): check that its host is up and reachable.`,
      cause: error,
    })
  }
  throw new UnsupportedUriError({
    shortMessage: `Batch file ${uri} has a URI scheme (${scheme ?? 'none'}) the audit cannot fetch: publish batch files over https:// (or pass fetchBatch for this scheme).`,
  })
}

async function fetchHttp(
  uri: string,
  maxBytes: number,
  signal: AbortSignal,
  doFetch: typeof fetch,
): Promise<Uint8Array> {
  const response = await doFetch(uri, { signal, redirect: 'follow' })
  if (!response.ok) {
    await response.body?.cancel().catch(() => {})
    if (response.status === 404 || response.status === 410)
      throw new BatchMissingError({
        shortMessage: `Batch file ${uri} is missing (HTTP ${response.status}): the settler must publish it at the URI it committed on chain.`,
      })
    throw new BatchUnavailableError({
      shortMessage: `Batch file ${uri} answered HTTP ${response.status}: check its host, then audit again.`,
    })
  }
  const announced = Number(response.headers.get('content-length') ?? Number.NaN)
  if (announced > maxBytes) {
    await response.body?.cancel().catch(() => {})
    throw tooLarge(uri, maxBytes)
  }
  const chunks: Uint8Array[] = []
  let size = 0
  if (response.body) {
    const reader = response.body.getReader()
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>
      try {
        chunk = await reader.read()
      } catch (error) {
        if (!signal.aborted && Number.isFinite(announced) && size < announced)
          throw new BatchTruncatedError({
            shortMessage: `Batch file ${uri} stopped after ${size} of ${announced} bytes: its host cut the transfer; audit again or fix the host.`,
            cause: error,
          })
        throw error
      }
      if (chunk.done) break
      size += chunk.value.byteLength
      if (size > maxBytes) {
        await reader.cancel().catch(() => {})
        throw tooLarge(uri, maxBytes)
      }
      chunks.push(chunk.value)
    }
  }
  if (Number.isFinite(announced) && size < announced)
    throw new BatchTruncatedError({
      shortMessage: `Batch file ${uri} stopped after ${size} of ${announced} bytes: its host cut the transfer; audit again or fix the host.`,
    })
  return concat(chunks, size)
}

async function readLocal(uri: string, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  let path: string
  try {
    path = fileURLToPath(uri)
  } catch (cause) {
    throw new UnsupportedUriError({
      shortMessage: `Batch file ${uri} is not a local file URL: use file:///absolute/path or https://.`,
      cause,
    })
  }
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(path, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new BatchMissingError({
        shortMessage: `Batch file ${uri} is missing (no such file): the settler must keep it at the URI it committed on chain.`,
        cause: error,
      })
    throw error
  }
  try {
    const stat = await handle.stat()
    if (!stat.isFile())
      throw new BatchMissingError({
        shortMessage: `Batch file ${uri} is not a regular file: the URI must name the batch file itself.`,
      })
    if (stat.size > maxBytes) throw tooLarge(uri, maxBytes)
    const bytes = await handle.readFile({ signal })
    if (bytes.byteLength > maxBytes) throw tooLarge(uri, maxBytes)
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  } finally {
    await handle.close().catch(() => {})
  }
}

function tooLarge(uri: string, maxBytes: number): AuditError {
  return new BatchTooLargeError({
    shortMessage: `Batch file ${uri} is larger than ${maxBytes} bytes: raise the size limit if the batch is genuinely that big.`,
  })
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause
  return cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error)
}
