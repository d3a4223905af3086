import {
  decodeReceipt,
  type Hex,
  hashReceipt,
  type RmaDomain,
  type SignedUsageReceipt,
  verifyReceipt,
} from '@rma/core'
import { InvalidLedgerError } from './errors.js'

/**
 * A user's exported receipts: `client.rma.ledger.exportJSON()` of `@rma/client`
 * (`format: 'rma.ledger/1'`). Only the fields the audit reads are listed; receipts the client
 * rejected (for example the second of two receipts with one seq) are read too.
 */
export type AuditLedger = {
  format: 'rma.ledger/1'
  domain: { chainId: string | number; verifyingContract: string }
  receipts: { encoded: string }[]
  rejected?: { encoded: string | null }[]
}

/** A receipt the user holds, signed by the meter it names. */
export type LedgerReceipt = { receipt: SignedUsageReceipt; hash: Hex }

/**
 * Reads a ledger export (an object or its JSON text) and keeps the receipts of `assetId`
 * validly signed by their meter: a receipt the meter did not sign proves nothing against it.
 * Throws `InvalidLedgerError` (`INVALID_LEDGER`) for anything that is not an `rma.ledger/1` export of
 * this contract and chain.
 *
 * @example
 * const held = parseLedger(JSON.parse(await readFile('ledger.json', 'utf8')), { domain, assetId })
 */
export function parseLedger(
  input: unknown,
  context: { domain: RmaDomain; assetId: string },
): LedgerReceipt[] {
  const invalid = (why: string) =>
    new InvalidLedgerError({
      shortMessage: `The ledger is not a usable rma.ledger/1 export (${why}): pass the JSON of client.rma.ledger.exportJSON().`,
    })
  let ledger = input
  if (typeof ledger === 'string')
    try {
      ledger = JSON.parse(ledger)
    } catch {
      throw invalid('not JSON')
    }
  const l = ledger as Partial<AuditLedger> | null
  if (!l || typeof l !== 'object' || l.format !== 'rma.ledger/1') throw invalid('no format tag')
  if (!Array.isArray(l.receipts)) throw invalid('no receipts list')
  if (
    !l.domain ||
    String(l.domain.chainId) !== context.domain.chainId.toString() ||
    String(l.domain.verifyingContract).toLowerCase() !==
      context.domain.verifyingContract.toLowerCase()
  )
    throw new InvalidLedgerError({
      shortMessage: `The ledger was exported for chain ${l.domain?.chainId} and contract ${l.domain?.verifyingContract}, not this one: export the ledger of the client configured for this contract.`,
    })
  const encoded = [
    ...l.receipts.map((r) => r?.encoded),
    ...(Array.isArray(l.rejected) ? l.rejected.map((r) => r?.encoded) : []),
  ]
  const out: LedgerReceipt[] = []
  const seen = new Set<string>()
  for (const text of encoded) {
    if (typeof text !== 'string') continue
    let receipt: SignedUsageReceipt
    try {
      receipt = decodeReceipt(text)
    } catch {
      continue
    }
    if (receipt.assetId.toLowerCase() !== context.assetId.toLowerCase()) continue
    if (!verifyReceipt({ receipt, domain: context.domain })) continue
    const hash = hashReceipt(receipt, context.domain)
    if (seen.has(hash)) continue
    seen.add(hash)
    out.push({ receipt, hash })
  }
  return out
}
