import { BaseError } from './errors.js'
import { hashReceipt } from './hashReceipt.js'
import { zeroHash } from './internal/bytes.js'
import { isSignedBy } from './internal/signTyped.js'
import type { Address, Hex, RmaDomain, SignedUsageReceipt } from './types.js'

/** Something wrong with a set of receipts; a verifier reports every one it finds. */
export type ChainIssue =
  | { type: 'invalidReceipt'; index: number; error: BaseError }
  | { type: 'untrustedMeter'; meter: Address; user: Address }
  | { type: 'gap'; meter: Address; user: Address; afterSeq: number; nextSeq: number }
  | { type: 'brokenLink'; meter: Address; user: Address; seq: number; expected: Hex; actual: Hex }
  | { type: 'duplicate'; meter: Address; user: Address; seq: number; hash: Hex }
  /** Two different receipts with one seq. `proven`: both carry the meter's valid signature. */
  | {
      type: 'fork'
      meter: Address
      user: Address
      seq: number
      hashes: [Hex, Hex]
      proven: boolean
    }
  | { type: 'badSignature'; meter: Address; user: Address; seq: number; hash: Hex }

/** One (meter, user) chain as verified: its seq range and head. */
export type ReceiptChain = {
  meter: Address
  user: Address
  fromSeq: number
  toSeq: number
  count: number
  head: Hex
}

/** Where a chain's earlier part ended (for example the last settled receipt). */
export type ChainAnchor = { seq: number; hash: Hex }

export type VerifyReceiptChainOptions = {
  domain: RmaDomain
  /** Per {@link chainKey}: the receipt just before the given ones. Without it a chain starts at seq 1. */
  anchors?: ReadonlyMap<string, ChainAnchor>
}

export type VerifyReceiptChainReturnType = {
  valid: boolean
  chains: ReceiptChain[]
  issues: ChainIssue[]
  /** `hashes[i]` is the hash of `receipts[i]` (undefined where it is malformed). */
  hashes: (Hex | undefined)[]
}

/** The key of a (meter, user) chain, as used by `anchors`. */
export function chainKey(meter: string, user: string): string {
  return `${meter.toLowerCase()}:${user.toLowerCase()}`
}

/**
 * Verifies receipts as chains per (meter, user): seq continuity from the anchor (or seq 1),
 * every `prev` link, and one signature per chain, the head's, which commits to the whole chain
 * through the links. Forks are checked with both signatures so a proven fork is a fraud proof.
 * Problems come back as typed {@link ChainIssue}s, never as exceptions.
 *
 * @example
 * const { valid, issues } = verifyReceiptChain(receipts, [meterAddress], { domain })
 */
export function verifyReceiptChain(
  receipts: readonly SignedUsageReceipt[],
  trustedMeters: Iterable<Address>,
  options: VerifyReceiptChainOptions,
): VerifyReceiptChainReturnType {
  const { domain, anchors } = options
  const trusted = new Set<string>()
  for (const meter of trustedMeters) trusted.add(meter.toLowerCase())
  const issues: ChainIssue[] = []
  const hashes: (Hex | undefined)[] = new Array(receipts.length)
  const groups = new Map<string, number[]>()

  for (let i = 0; i < receipts.length; i++) {
    const receipt = receipts[i]!
    try {
      hashes[i] = hashReceipt(receipt, domain)
    } catch (error) {
      issues.push({ type: 'invalidReceipt', index: i, error: toBaseError(error) })
      continue
    }
    const key = chainKey(receipt.meter, receipt.user)
    const group = groups.get(key)
    if (group) group.push(i)
    else groups.set(key, [i])
  }

  const chains: ReceiptChain[] = []
  for (const [key, indexes] of groups) {
    const first = receipts[indexes[0]!]!
    const { meter, user } = first
    if (!trusted.has(meter.toLowerCase())) {
      issues.push({ type: 'untrustedMeter', meter, user })
      continue
    }
    indexes.sort((a, b) => receipts[a]!.seq - receipts[b]!.seq)
    const anchor = anchors?.get(key) ?? { seq: 0, hash: zeroHash }
    let lastSeq = anchor.seq
    let lastHash = anchor.hash.toLowerCase() as Hex
    let head = -1
    let count = 0
    for (const i of indexes) {
      const receipt = receipts[i]!
      const hash = hashes[i]!
      if (receipt.seq === lastSeq && head >= 0) {
        if (hash === lastHash)
          issues.push({ type: 'duplicate', meter, user, seq: receipt.seq, hash })
        else issues.push(fork(receipts[head]!, lastHash, receipt, hash))
        continue
      }
      if (receipt.seq !== lastSeq + 1)
        issues.push({ type: 'gap', meter, user, afterSeq: lastSeq, nextSeq: receipt.seq })
      else if (receipt.prev.toLowerCase() !== lastHash)
        issues.push({
          type: 'brokenLink',
          meter,
          user,
          seq: receipt.seq,
          expected: lastHash,
          actual: receipt.prev,
        })
      lastSeq = receipt.seq
      lastHash = hash
      head = i
      count++
    }
    const headReceipt = receipts[head]!
    if (!isSignedBy(lastHash, headReceipt.signature, meter))
      issues.push({ type: 'badSignature', meter, user, seq: lastSeq, hash: lastHash })
    chains.push({
      meter,
      user,
      fromSeq: receipts[indexes[0]!]!.seq,
      toSeq: lastSeq,
      count,
      head: lastHash,
    })
  }
  return { valid: issues.length === 0, chains, issues, hashes }
}

function fork(a: SignedUsageReceipt, aHash: Hex, b: SignedUsageReceipt, bHash: Hex): ChainIssue {
  const proven = isSignedBy(aHash, a.signature, a.meter) && isSignedBy(bHash, b.signature, b.meter)
  return { type: 'fork', meter: a.meter, user: a.user, seq: a.seq, hashes: [aHash, bHash], proven }
}

function toBaseError(error: unknown): BaseError {
  return error instanceof BaseError
    ? error
    : new BaseError('Receipt could not be hashed.', { code: 'INVALID_RECEIPT', cause: error })
}
