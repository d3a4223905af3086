import type { AuditReport } from './AuditReport.js'
import { type AuditAssetParameters, deriveAudit } from './deriveAudit.js'

export type { AuditAssetParameters }

/**
 * Re-derives every payout of one asset from public data only and reports every difference:
 * the chain's `Settled`, `MeterSet` and claim events and views, and each epoch's batch file
 * fetched by its on-chain URI (http(s) or file, bounded in time and size) and checked against
 * its on-chain hash. The batch files are read, the receipts chains walked and the rebates
 * recomputed by code of this package, not the settlement client's; only the protocol's
 * primitives (receipt hashing and signature recovery, Merkle roots, the split and pro-rata
 * rules) come from `@rma/core`. With `ledger` (a user's `rma.ledger/1` export) it also finds
 * receipts omitted from every batch and meter equivocation. `ok` is true only when nothing
 * differs. Throws `AuditError` (one sentence naming cause and fix) when the chain cannot be
 * read at all: unreachable RPC, wrong chain, no contract, unregistered asset.
 *
 * @example
 * const report = await auditAsset({ rpcUrl: 'http://127.0.0.1:8545', contract, assetId })
 * for (const d of report.discrepancies) console.log(d.kind, d.epoch, d.accounts.join(' '), d.detail)
 * process.exitCode = report.ok ? 0 : 1
 */
export async function auditAsset(parameters: AuditAssetParameters): Promise<AuditReport> {
  return (await deriveAudit(parameters)).report
}
