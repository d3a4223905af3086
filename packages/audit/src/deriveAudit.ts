import {
  type Address,
  allocateProRata,
  chainKey,
  createDomain,
  createRebateTree,
  createReceiptsTree,
  type Hex,
  hashBytes,
  type RmaDomain,
  splitRevenue,
  verifyReceipt,
  zeroHash,
} from '@rma/core'
import type { AssetStatus, EpochStatus } from './AssetStatus.js'
import type { AuditReport, Discrepancy, EpochAuditStatus } from './AuditReport.js'
import { checkChains } from './checkChains.js'
import { checkLedger } from './checkLedger.js'
import { checkPrepaid } from './checkPrepaid.js'
import { createMeterHistory, type MeterHistory } from './createMeterHistory.js'
import { derivePrepaidUsers } from './derivePrepaidUsers.js'
import {
  AuditAbortedError,
  AuditError,
  BatchHashMismatchError,
  BatchTimeoutError,
  BatchTooLargeError,
  BatchUnavailableError,
  InvalidAuditOptionsError,
  InvalidBatchError,
} from './errors.js'
import {
  defaultBatchTimeoutMs,
  defaultMaxBatchBytes,
  type FetchBatch,
  fetchBatchFile,
} from './fetchBatchFile.js'
import { mapLimit } from './mapLimit.js'
import { type AssetEvent, type ChainParameters, openSettlement } from './openSettlement.js'
import { type BatchContents, type BatchReceipt, parseBatch } from './parseBatch.js'
import { type AuditLedger, parseLedger } from './parseLedger.js'
import { collectAssetStatus } from './readAssetStatus.js'
import { readPrepaidBatch } from './readPrepaidBatch.js'

export type AuditAssetParameters = ChainParameters & {
  /** A user's exported receipts (`rma.ledger/1`, object or JSON text): adds `receipt-omitted` and `equivocation`. */
  ledger?: AuditLedger | string | undefined
  /** Fetches a batch file by URI (default: `fetchBatchFile`, http(s) and file). */
  fetchBatch?: FetchBatch | undefined
  /** Per batch file (default 30 s). */
  batchTimeoutMs?: number
  /** Per batch file (default 256 MiB). */
  maxBatchBytes?: number
  /**
   * How far a receipt's timestamp may fall outside its meter's authorisation, in seconds
   * (default 300): meters' clocks and block times disagree. The check at settlement is exact.
   */
  clockToleranceSeconds?: number
}

/** One user's figures in one epoch, re-derived from the batch file's receipts. */
export type DerivedUser = {
  calls: number
  spend: bigint
  /** Its pro-rata part of the epoch's users' share, as the audit computes it. */
  rebate: bigint
  /** What the on-chain rebate root commits for it (null when the file does not show it). */
  committed: bigint | null
}

export type DerivedEpoch = {
  status: EpochStatus
  audit: EpochAuditStatus
  /** The batch's receipts, or null when its file could not be read or trusted (and for prepaid epochs, which have none). */
  receipts: BatchReceipt[] | null
  /** By user (lowercase). Empty when `receipts` is null. */
  users: Map<string, DerivedUser>
}

/** The audit with everything it derived (the explorer draws from it; `auditAsset` returns the report). */
export type Derivation = {
  status: AssetStatus
  epochs: DerivedEpoch[]
  report: AuditReport
}

/**
 * Reads the asset, fetches and checks every batch file, re-derives every payout and compares.
 * Shared by `auditAsset` and the explorer, so both report the same findings.
 */
export async function deriveAudit(parameters: AuditAssetParameters): Promise<Derivation> {
  const reader = await openSettlement(parameters)
  const events = await reader.events()
  const prepaidBatches = await mapLimit(
    events.filter((e) => e.name === 'PrepaidSettled'),
    8,
    (e) => readPrepaidBatch(reader, e),
  )
  const status = await collectAssetStatus(reader, events, prepaidBatches)
  const domain = createDomain({ chainId: reader.chainId, verifyingContract: reader.contract })
  const meters = await createMeterHistory(events, reader.blockTimestamp)
  const settledLogs = new Map<number, AssetEvent>()
  for (const e of events) if (e.name === 'Settled') settledLogs.set(Number(e.args.epoch), e)
  if (status.epochs.length !== status.asset.epoch)
    throw new InvalidAuditOptionsError({
      shortMessage: `Only ${status.epochs.length} of ${status.asset.epoch} settlements were found from block ${parameters.fromBlock ?? 0}: lower the first block read (fromBlock) to the contract's deployment.`,
    })

  const prepaidUsers = derivePrepaidUsers(prepaidBatches, BigInt(status.asset.shares.usersBps))
  const fetchOne = boundedFetch(parameters)
  const discrepancies: Discrepancy[] = []
  const unavailable = new Set<number>()
  const epochs: DerivedEpoch[] = []
  // A few files at a time: bounded memory and sockets, and no order dependence.
  const loaded = await mapLimit(status.epochs, 4, async (epoch) => {
    if (epoch.kind === 'prepaid') return null
    try {
      return await loadBatch(epoch, fetchOne, domain, reader.assetId)
    } catch (error) {
      if (error instanceof AuditError && error.code === 'ABORTED') throw error
      return error instanceof Error ? error : new Error(String(error))
    }
  })

  for (const [i, epoch] of status.epochs.entries()) {
    const found: Discrepancy[] = []
    const result = loaded[i]!
    let receipts: BatchReceipt[] | null = null
    let users = new Map<string, DerivedUser>()
    if (result === null) {
      // Prepaid: no batch file; checked below from the calldata and events.
      users = prepaidUsers.get(epoch.epoch)?.users ?? users
    } else if (result instanceof Error) {
      const code = (result as AuditError).code
      const detail = (result as AuditError).shortMessage ?? result.message
      if (code === 'BATCH_HASH_MISMATCH')
        found.push({
          kind: 'batch-hash-mismatch',
          epoch: epoch.epoch,
          accounts: [epoch.settler],
          detail,
        })
      else if (code === 'BATCH_INVALID')
        found.push({ kind: 'batch-invalid', epoch: epoch.epoch, accounts: [epoch.settler], detail })
      else {
        unavailable.add(epoch.epoch)
        found.push({ kind: 'batch-missing', epoch: epoch.epoch, accounts: [epoch.settler], detail })
      }
    } else {
      const checked = checkEpoch({
        epoch,
        batch: result,
        domain,
        status,
        meters,
        settledLog: settledLogs.get(epoch.epoch)!,
        toleranceSeconds: parameters.clockToleranceSeconds ?? 300,
      })
      found.push(...checked.found)
      receipts = checked.receipts
      users = checked.users
    }
    discrepancies.push(...found)
    epochs.push({ status: epoch, audit: 'ok', receipts, users })
  }

  discrepancies.push(...checkChains(epochs, domain))
  const postpaid = new Map<string, Map<number, number>>()
  for (const e of epochs)
    for (const { receipt } of e.receipts ?? []) {
      const key = chainKey(receipt.assetId, receipt.meter, receipt.user)
      const seqs = postpaid.get(key) ?? new Map<number, number>()
      seqs.set(receipt.seq, e.status.epoch)
      postpaid.set(key, seqs)
    }
  discrepancies.push(
    ...checkPrepaid(prepaidBatches, {
      postpaid,
      domain,
      assetId: reader.assetId,
      meters,
      usersBps: BigInt(status.asset.shares.usersBps),
      settlers: new Map(status.epochs.map((e) => [e.epoch, e.settler])),
      held:
        parameters.ledger === undefined
          ? undefined
          : parseLedger(parameters.ledger, { domain, assetId: reader.assetId }),
    }),
  )
  if (parameters.ledger !== undefined)
    discrepancies.push(
      ...checkLedger(parameters.ledger, epochs, { domain, assetId: reader.assetId }),
    )

  const flagged = new Set(discrepancies.map((d) => d.epoch))
  for (const e of epochs)
    e.audit = unavailable.has(e.status.epoch)
      ? 'unavailable'
      : flagged.has(e.status.epoch)
        ? 'discrepancy'
        : 'ok'
  return {
    status,
    epochs,
    report: {
      ok: discrepancies.length === 0 && epochs.every((e) => e.audit === 'ok'),
      epochs: epochs.map((e) => ({ epoch: e.status.epoch, status: e.audit })),
      discrepancies,
    },
  }
}

/** The fetcher with the time and size bounds applied, also around a caller's own fetcher. */
function boundedFetch(parameters: AuditAssetParameters) {
  const timeoutMs = parameters.batchTimeoutMs ?? defaultBatchTimeoutMs
  const maxBytes = parameters.maxBatchBytes ?? defaultMaxBatchBytes
  const custom = parameters.fetchBatch
  return async (uri: string): Promise<Uint8Array> => {
    if (!custom) return fetchBatchFile(uri, { timeoutMs, maxBytes, signal: parameters.signal })
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = parameters.signal ? AbortSignal.any([parameters.signal, timeout]) : timeout
    const timedOut = new Promise<never>((_, reject) =>
      signal.addEventListener(
        'abort',
        () =>
          reject(
            parameters.signal?.aborted
              ? new AuditAbortedError({ shortMessage: 'The audit was aborted.' })
              : new BatchTimeoutError({
                  shortMessage: `Batch file ${uri} did not arrive within ${timeoutMs / 1000} s: check its host, or raise the timeout.`,
                }),
          ),
        { once: true },
      ),
    )
    const bytes = await Promise.race([custom(uri, { signal, maxBytes }), timedOut]).catch(
      (error: unknown) => {
        if (error instanceof AuditError) throw error
        throw new BatchUnavailableError({
          shortMessage: `Batch file ${uri} cannot be fetched (${(error as Error)?.message ?? String(error)}): check the fetchBatch given and the file's host.`,
          cause: error,
        })
      },
    )
    if (bytes.byteLength > maxBytes)
      throw new BatchTooLargeError({
        shortMessage: `Batch file ${uri} is larger than ${maxBytes} bytes: raise the size limit if the batch is genuinely that big.`,
      })
    return bytes
  }
}

/** Fetches one epoch's file, checks its bytes against the on-chain hash, and parses it. */
async function loadBatch(
  epoch: EpochStatus,
  fetchOne: (uri: string) => Promise<Uint8Array>,
  domain: RmaDomain,
  assetId: string,
): Promise<BatchContents> {
  const uri = epoch.batchUri ?? ''
  const bytes = await fetchOne(uri)
  const hash = hashBytes(bytes)
  if (hash !== epoch.batchHash) {
    let readable = true
    try {
      JSON.parse(new TextDecoder().decode(bytes))
    } catch {
      readable = false
    }
    throw new BatchHashMismatchError({
      shortMessage: `Batch file of epoch ${epoch.epoch} at ${epoch.batchUri} hashes to ${hash}, not the ${epoch.batchHash} committed on chain${readable ? '' : ' (and is not whole JSON: truncated or corrupted)'}: the file was changed after settlement.`,
    })
  }
  const batch = parseBatch(bytes, { uri, domain })
  const mismatch =
    batch.epoch !== epoch.epoch
      ? `epoch ${batch.epoch}`
      : batch.assetId !== assetId
        ? `asset ${batch.assetId}`
        : batch.contract !== domain.verifyingContract.toLowerCase()
          ? `contract ${batch.contract}`
          : batch.chainId !== domain.chainId.toString()
            ? `chain ${batch.chainId}`
            : null
  if (mismatch)
    throw new InvalidBatchError({
      shortMessage: `Batch file of epoch ${epoch.epoch} at ${epoch.batchUri} is the file of ${mismatch}: the settler committed another batch's file.`,
    })
  return batch
}

/** Every check one epoch's file allows on its own. */
function checkEpoch(input: {
  epoch: EpochStatus
  batch: BatchContents
  domain: RmaDomain
  status: AssetStatus
  meters: MeterHistory
  settledLog: AssetEvent
  toleranceSeconds: number
}): { found: Discrepancy[]; receipts: BatchReceipt[]; users: Map<string, DerivedUser> } {
  const { epoch, batch, domain, status, meters } = input
  const n = epoch.epoch
  const found: Discrepancy[] = []
  const receipts = batch.receipts
  const epochUsers = sortedUnique(receipts.map((r) => r.receipt.user))

  // The receipts the file lists are the ones the chain committed to.
  const foreign = receipts.filter((r) => r.receipt.assetId.toLowerCase() !== status.assetId)
  const misstated = receipts.filter((r) => r.statedHash !== r.hash)
  // A receipt listed twice is reported by the chain walk (duplicate-receipt); the tree of core
  // refuses duplicate leaves, so the root is then compared over the distinct receipts.
  const distinct = [...new Set(receipts.map((r) => r.hash))]
  const root = distinct.length === 0 ? zeroHash : createReceiptsTree(distinct).root
  if (foreign.length > 0)
    found.push({
      kind: 'receipts-mismatch',
      epoch: n,
      accounts: sortedUnique(foreign.map((r) => r.receipt.user)),
      detail: `Epoch ${n}'s batch holds ${foreign.length} receipt(s) of another asset.`,
    })
  if (misstated.length > 0)
    found.push({
      kind: 'receipts-mismatch',
      epoch: n,
      accounts: sortedUnique(misstated.map((r) => r.receipt.user)),
      detail: `Epoch ${n}'s batch states ${misstated.length} receipt hash(es) that are not the hash of the receipt beside them.`,
    })
  if (root !== epoch.receiptsRoot || receipts.length !== epoch.receiptCount)
    found.push({
      kind: 'receipts-mismatch',
      epoch: n,
      accounts: epochUsers,
      detail: `Epoch ${n}'s batch lists ${receipts.length} receipts with root ${root}; the chain committed ${epoch.receiptCount} with root ${epoch.receiptsRoot}.`,
    })

  // Revenue = Σ receipts.
  let sum = 0n
  const users = new Map<string, DerivedUser>()
  for (const { receipt } of receipts) {
    sum += receipt.amount
    const key = receipt.user.toLowerCase()
    const u = users.get(key) ?? { calls: 0, spend: 0n, rebate: 0n, committed: null }
    u.calls++
    u.spend += receipt.amount
    users.set(key, u)
  }
  if (sum !== BigInt(epoch.revenue))
    found.push({
      kind: 'revenue-mismatch',
      epoch: n,
      accounts: epochUsers,
      detail: `Epoch ${n} settled revenue ${epoch.revenue}, but its ${receipts.length} receipts sum to ${sum}.`,
    })

  // Each receipt: signed by its meter, and that meter authorised when it signed and when settled.
  const perChain = new Map<
    string,
    { kind: 'bad-signature' | 'unauthorised-meter'; n: number; why: string }
  >()
  for (const { receipt } of receipts) {
    const key = (kind: string) =>
      `${kind}|${receipt.meter.toLowerCase()}|${receipt.user.toLowerCase()}`
    if (!verifyReceipt({ receipt, domain })) {
      const k = key('bad-signature')
      const entry = perChain.get(k) ?? { kind: 'bad-signature' as const, n: 0, why: '' }
      entry.n++
      entry.why = `seq ${receipt.seq}`
      perChain.set(k, entry)
    }
    const signedOk = meters.authorisedAt(receipt.meter, receipt.timestamp, input.toleranceSeconds)
    const settledOk = meters.authorisedAtLog(receipt.meter, input.settledLog)
    if (!signedOk || !settledOk) {
      const k = key('unauthorised-meter')
      const entry = perChain.get(k) ?? { kind: 'unauthorised-meter' as const, n: 0, why: '' }
      entry.n++
      entry.why = !signedOk
        ? `not authorised when it signed seq ${receipt.seq} (timestamp ${receipt.timestamp})`
        : `not authorised when epoch ${n} settled`
      perChain.set(k, entry)
    }
  }
  for (const [k, entry] of perChain) {
    const [, meter, user] = k.split('|') as [string, string, string]
    found.push({
      kind: entry.kind,
      epoch: n,
      accounts: sortedUnique([user, meter]),
      detail:
        entry.kind === 'bad-signature'
          ? `${entry.n} receipt(s) of user ${user} in epoch ${n} are not signed by meter ${meter} (last: ${entry.why}).`
          : `${entry.n} receipt(s) of user ${user} in epoch ${n} come from meter ${meter}, ${entry.why}.`,
    })
  }

  // Rebates: the users' share of Σ receipts, pro rata to spend, users ordered by address.
  const split = splitRevenue(sum, status.asset.shares)
  const ordered = [...users.keys()].sort()
  const parts = allocateProRata(
    split.users,
    ordered.map((u) => users.get(u)!.spend),
  )
  ordered.forEach((u, i) => {
    users.get(u)!.rebate = parts[i]!
  })
  const derivedLines = ordered
    .map((u, i) => ({ user: u as Address, cumulativeAmount: parts[i]! }))
    .filter((l) => l.cumulativeAmount > 0n)
  const derivedRoot = derivedLines.length === 0 ? zeroHash : createRebateTree(derivedLines).root
  // What the root commits: the file's lines, when they rebuild the on-chain root.
  const fileRoot =
    batch.rebates.length === 0
      ? zeroHash
      : safeRoot(batch.rebates.map((l) => ({ user: l.user, cumulativeAmount: l.amount })))
  const committed = fileRoot === epoch.rebateRoot ? batch.rebates : null
  if (committed)
    for (const [u, d] of users) d.committed = committed.find((l) => l.user === u)?.amount ?? 0n
  if (derivedRoot !== epoch.rebateRoot) {
    if (committed) {
      const accounts: string[] = []
      const lines: string[] = []
      const all = sortedUnique([...ordered, ...committed.map((l) => l.user)])
      for (const u of all) {
        const want = users.get(u)?.rebate ?? 0n
        const got = committed.find((l) => l.user === u)?.amount ?? 0n
        if (want === got) continue
        accounts.push(u)
        lines.push(
          `${u} committed ${got}, pro-rata share ${want} (${got > want ? 'above' : 'shifted away'})`,
        )
      }
      found.push({
        kind: 'rebate-mismatch',
        epoch: n,
        accounts,
        detail: `Epoch ${n}'s rebate root commits rebates other than each user's pro-rata share: ${lines.join('; ')}.`,
      })
    } else
      found.push({
        kind: 'rebate-mismatch',
        epoch: n,
        accounts: epochUsers,
        detail: `Epoch ${n}'s rebate root ${epoch.rebateRoot} is not the root of the pro-rata rebates (${derivedRoot}), and the batch file does not show what it commits.`,
      })
  }
  return { found, receipts, users }
}

function safeRoot(entries: { user: string; cumulativeAmount: bigint }[]): Hex | null {
  try {
    return createRebateTree(entries as Parameters<typeof createRebateTree>[0]).root
  } catch {
    return null
  }
}

export function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values.map((v) => v.toLowerCase()))].sort()
}
