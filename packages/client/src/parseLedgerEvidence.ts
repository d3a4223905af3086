import {
  type Address,
  createDomain,
  decodeAttestation,
  decodeReceipt,
  type RmaDomain,
  type SignedRequestAttestation,
  type SignedUsageReceipt,
} from '@rma/core'
import type { LedgerEvidence } from './createLedger.js'
import { InvalidClientOptionsError } from './errors.js'

/**
 * The fraud evidence in a user's ledger as text: a `ledger.exportJSON()` (`rma.ledger/1`, which
 * names its domain) or the JSON Lines of a `createFileLedgerStore` file (which does not). Every
 * receipt (accepted or refused) and every attestation that decodes; the rest is skipped, as
 * `findFraud` checks every signature. Throws {@link InvalidClientOptionsError} for text that is
 * neither.
 *
 * @example
 * const { domain, receipts, attestations } = parseLedgerEvidence(await readFile(path, 'utf8'))
 * const frauds = findFraud({ domain: domain ?? myDomain, receipts, attestations })
 */
export function parseLedgerEvidence(text: string): LedgerEvidence & { domain?: RmaDomain } {
  const receipts: SignedUsageReceipt[] = []
  const attestations: SignedRequestAttestation[] = []
  const addReceipt = (encoded: unknown) => {
    try {
      if (typeof encoded === 'string') receipts.push(decodeReceipt(encoded))
    } catch {}
  }
  const addAttestation = (encoded: unknown) => {
    try {
      if (typeof encoded === 'string') attestations.push(decodeAttestation(encoded))
    } catch {}
  }
  let exported: unknown
  try {
    exported = JSON.parse(text)
  } catch {}
  if (isExport(exported)) {
    for (const r of list(exported.receipts)) addReceipt(r?.encoded)
    for (const r of list(exported.rejected)) addReceipt(r?.encoded)
    for (const a of list(exported.attestations)) addAttestation(a as unknown)
    const { chainId, verifyingContract } = exported.domain ?? {}
    const domain =
      typeof chainId === 'string' && /^\d+$/.test(chainId) && typeof verifyingContract === 'string'
        ? createDomain({
            chainId: BigInt(chainId),
            verifyingContract: verifyingContract as Address,
          })
        : undefined
    return { receipts, attestations, ...(domain ? { domain } : {}) }
  }
  let lines = 0
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    let entry: { type?: unknown; encoded?: unknown } | undefined
    try {
      entry = JSON.parse(line) as typeof entry
    } catch {
      continue
    }
    lines++
    if (entry?.type === 'receipt' || entry?.type === 'rejected') addReceipt(entry.encoded)
    else if (entry?.type === 'attestation') addAttestation(entry.encoded)
  }
  if (lines === 0)
    throw new InvalidClientOptionsError({
      shortMessage: 'This is not a ledger.',
      details:
        'Pass the JSON of client.rma.ledger.exportJSON() (rma.ledger/1) or a createFileLedgerStore file.',
    })
  return { receipts, attestations }
}

type Export = {
  format: 'rma.ledger/1'
  domain?: { chainId?: unknown; verifyingContract?: unknown }
  receipts?: unknown
  rejected?: unknown
  attestations?: unknown
}

function list(value: unknown): ({ encoded?: unknown } | undefined)[] {
  return Array.isArray(value) ? value : []
}

function isExport(value: unknown): value is Export {
  return typeof value === 'object' && value !== null && (value as Export).format === 'rma.ledger/1'
}
