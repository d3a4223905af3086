import { chainKey } from './chainKey.js'
import type { PriceTableTree } from './createPriceTableTree.js'
import { hashAttestation } from './hashAttestation.js'
import { hashReceipt } from './hashReceipt.js'
import { snapshotBase } from './internal/resolvePrice.js'
import type { PriceEntry } from './priceEntryOf.js'
import { priceTokens } from './priceUsage.js'
import type { Hex, RmaDomain, SignedRequestAttestation, SignedUsageReceipt } from './types.js'
import { verifyAttestation } from './verifyAttestation.js'
import { verifyReceipt } from './verifyReceipt.js'

/**
 * A committed price table as evidence: its root, its leaves and the proof of a leaf (a
 * {@link PriceTableTree} is one).
 */
export type FraudPriceTable = Pick<PriceTableTree, 'root' | 'entries' | 'getProof'>

export type FindFraudParameters = {
  /** The EIP-712 domain receipts and attestations are signed under (chain id + settlement contract). */
  domain: RmaDomain
  /** Every meter-signed receipt the user holds, accepted or refused. */
  receipts: readonly SignedUsageReceipt[]
  /** Every attestation the user signed. */
  attestations?: readonly SignedRequestAttestation[]
  /** The committed price tables receipts may name in `priceTable`. */
  priceTables?: readonly FraudPriceTable[]
}

/** The `kind` of the `FraudProven` event. */
export const fraudKinds = { equivocation: 1, overcharge: 2, mispricing: 3 } as const

/**
 * A fraud the settlement contract accepts a proof of, with everything the proof transaction
 * takes and what it pays the harmed user (`compensation`, before the challenger's bounty).
 */
export type Fraud =
  | {
      kind: 'equivocation'
      /** Two receipts of one (asset, meter, user, seq) with different hashes; `a` charges more. */
      a: SignedUsageReceipt
      b: SignedUsageReceipt
      hashes: [Hex, Hex]
      /** The larger of the two amounts. */
      compensation: bigint
    }
  | {
      kind: 'overcharge'
      receipt: SignedUsageReceipt
      hash: Hex
      /** The user's attestation the receipt names (`receipt.attestation` is its digest). */
      attestation: SignedRequestAttestation
      /** `receipt.amount − attestation.maxAmount`. */
      compensation: bigint
    }
  | {
      kind: 'mispricing'
      receipt: SignedUsageReceipt
      hash: Hex
      /** The committed leaf of `receipt.model` (or its snapshot base) in `receipt.priceTable`. */
      entry: PriceEntry
      proof: Hex[]
      /** The committed price of the receipt's tokens. */
      price: bigint
      /** `receipt.amount − price`. */
      compensation: bigint
    }

/**
 * The frauds a user's evidence proves, by the settlement contract's own rules, so that what
 * this finds is exactly what `proveEquivocation` / `proveOvercharge` / `proveMispricing` accept
 * (short of the on-chain facts it cannot see: that the meter was ever authorised, that the
 * price table was committed, that the proof window is open, that it was not proven already):
 * - **equivocation**: two validly signed receipts with the same (asset, meter, user, seq) and
 *   different hashes; one per (asset, meter, user, seq), compensation the larger amount;
 * - **overcharge**: a validly signed receipt whose `attestation` is the digest of an attestation
 *   validly signed by the receipt's user, for its asset and request hash, with
 *   `amount > maxAmount`; compensation the excess;
 * - **mispricing**: a validly signed receipt whose `priceTable` is one of `priceTables`, whose
 *   model (exact name, else without its snapshot suffix) has a leaf there, and whose amount
 *   exceeds `priceTokens(leaf, receipt)`; compensation the excess. Undercharges are not fraud.
 *
 * A receipt can be both an overcharge and a mispricing: both are listed, but the contract pays
 * each receipt once (prove the larger compensation). Receipts with a bad signature prove nothing
 * and are skipped; token counts a meter signed inconsistent (cached + cacheWrite > input,
 * reasoning > output) are priced as the contract prices them (see `priceTokens`). The result
 * is sorted: equivocations, overcharges, mispricings.
 *
 * @example
 * const frauds = findFraud({ domain, receipts, attestations, priceTables: [tree] })
 * for (const fraud of frauds) console.log(fraud.kind, fraud.compensation)
 */
export function findFraud(parameters: FindFraudParameters): Fraud[] {
  const { domain, attestations = [], priceTables = [] } = parameters
  const receipts = signedReceipts(parameters.receipts, domain)
  return [
    ...equivocations(receipts),
    ...overcharges(receipts, attestations, domain),
    ...mispricings(receipts, priceTables),
  ]
}

type Hashed = { receipt: SignedUsageReceipt; hash: Hex }

/** Distinct (by hash) receipts that carry their meter's valid signature. */
function signedReceipts(receipts: readonly SignedUsageReceipt[], domain: RmaDomain): Hashed[] {
  const byHash = new Map<Hex, Hashed>()
  for (const receipt of receipts) {
    let hash: Hex
    try {
      hash = hashReceipt(receipt, domain)
      if (byHash.has(hash) || !verifyReceipt({ receipt, domain })) continue
    } catch {
      continue
    }
    byHash.set(hash, { receipt, hash })
  }
  return [...byHash.values()]
}

function equivocations(receipts: readonly Hashed[]): Fraud[] {
  const bySeq = new Map<string, Hashed[]>()
  for (const item of receipts) {
    const { assetId, meter, user, seq } = item.receipt
    const key = `${chainKey(assetId, meter, user)}:${seq}`
    const list = bySeq.get(key)
    if (list) list.push(item)
    else bySeq.set(key, [item])
  }
  const frauds: Fraud[] = []
  for (const list of bySeq.values()) {
    if (list.length < 2) continue
    // The dearest receipt pays the most; any other of the same seq proves it is a fork.
    const sorted = [...list].sort((x, y) =>
      x.receipt.amount === y.receipt.amount ? 0 : x.receipt.amount > y.receipt.amount ? -1 : 1,
    )
    const [a, b] = sorted as [Hashed, Hashed]
    frauds.push({
      kind: 'equivocation',
      a: a.receipt,
      b: b.receipt,
      hashes: [a.hash, b.hash],
      compensation: a.receipt.amount,
    })
  }
  return frauds
}

function overcharges(
  receipts: readonly Hashed[],
  attestations: readonly SignedRequestAttestation[],
  domain: RmaDomain,
): Fraud[] {
  const byDigest = new Map<string, SignedRequestAttestation>()
  for (const attestation of attestations) {
    try {
      if (!verifyAttestation({ attestation, domain })) continue
      byDigest.set(hashAttestation(attestation, domain), attestation)
    } catch {}
  }
  const frauds: Fraud[] = []
  for (const { receipt, hash } of receipts) {
    const attestation = byDigest.get(receipt.attestation.toLowerCase())
    if (
      !attestation ||
      !same(attestation.user, receipt.user) ||
      !same(attestation.assetId, receipt.assetId) ||
      !same(attestation.requestHash, receipt.requestHash) ||
      receipt.amount <= attestation.maxAmount
    )
      continue
    frauds.push({
      kind: 'overcharge',
      receipt,
      hash,
      attestation,
      compensation: receipt.amount - attestation.maxAmount,
    })
  }
  return frauds
}

function mispricings(receipts: readonly Hashed[], tables: readonly FraudPriceTable[]): Fraud[] {
  const byRoot = new Map<string, FraudPriceTable>()
  for (const table of tables) byRoot.set(table.root.toLowerCase(), table)
  const frauds: Fraud[] = []
  for (const { receipt, hash } of receipts) {
    const table = byRoot.get(receipt.priceTable.toLowerCase())
    if (!table) continue
    // The contract takes the exact name or the snapshot base: whichever prices lower proves more.
    let best: { entry: PriceEntry; price: bigint } | undefined
    for (const name of new Set([receipt.model, snapshotBase(receipt.model)])) {
      const entry = table.entries.find((e) => e.model === name)
      if (!entry) continue
      const price = priceTokens(entry, receipt)
      if (!best || price < best.price) best = { entry, price }
    }
    if (!best || receipt.amount <= best.price) continue
    frauds.push({
      kind: 'mispricing',
      receipt,
      hash,
      entry: best.entry,
      proof: table.getProof(best.entry.model),
      price: best.price,
      compensation: receipt.amount - best.price,
    })
  }
  return frauds
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}
