import { chainKey } from './chainKey.js'
import { BaseError, CumulativeAmountMismatchError } from './errors.js'
import { expectedCumulativeAmount } from './expectedCumulativeAmount.js'
import { hashReceipt } from './hashReceipt.js'
import { zeroHash } from './internal/bytes.js'
import { isSignedBy } from './internal/signTyped.js'
import type { ChainRef } from './ReceiptStore.js'
import type { Address, Hex, RmaDomain, SignedUsageReceipt } from './types.js'

/** Something wrong with a set of receipts; a verifier reports every one it finds. */
export type ChainIssue =
  | { type: 'invalidReceipt'; index: number; error: BaseError }
  | ({ type: 'untrustedMeter' } & ChainRef)
  | ({ type: 'gap'; afterSeq: number; nextSeq: number } & ChainRef)
  | ({ type: 'brokenLink'; seq: number; expected: Hex; actual: Hex } & ChainRef)
  | ({ type: 'duplicate'; seq: number; hash: Hex } & ChainRef)
  /** Two different receipts with one seq. `proven`: both carry the meter's valid signature. */
  | ({ type: 'fork'; seq: number; hashes: [Hex, Hex]; proven: boolean } & ChainRef)
  | ({ type: 'badSignature'; seq: number; hash: Hex } & ChainRef)
  /** `cumulativeAmount` is not the previous receipt's plus `amount` (see `expectedCumulativeAmount`). */
  | ({
      type: 'cumulativeMismatch'
      seq: number
      expected: bigint
      actual: bigint
      error: CumulativeAmountMismatchError
    } & ChainRef)

/** One (asset, meter, user) chain as verified: its seq range and head. */
export type ReceiptChain = {
  assetId: Hex
  meter: Address
  user: Address
  fromSeq: number
  toSeq: number
  count: number
  head: Hex
}

/**
 * Where a chain's earlier part ended (for example the last settled receipt). Without
 * `cumulativeAmount` the first receipt after a non-zero anchor is not checked for it (the ones
 * after it are).
 */
export type ChainAnchor = { seq: number; hash: Hex; cumulativeAmount?: bigint }

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

/**
 * Verifies receipts as chains per (asset, meter, user): seq continuity from the anchor (or seq 1),
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
    const key = chainKey(receipt.assetId, receipt.meter, receipt.user)
    const group = groups.get(key)
    if (group) group.push(i)
    else groups.set(key, [i])
  }

  const chains: ReceiptChain[] = []
  for (const [key, indexes] of groups) {
    const first = receipts[indexes[0]!]!
    const { assetId, meter, user } = first
    const ref: ChainRef = { assetId, meter, user }
    if (!trusted.has(meter.toLowerCase())) {
      issues.push({ type: 'untrustedMeter', ...ref })
      continue
    }
    indexes.sort((a, b) => receipts[a]!.seq - receipts[b]!.seq)
    const anchor = anchors?.get(key) ?? { seq: 0, hash: zeroHash }
    let lastSeq = anchor.seq
    let lastHash = anchor.hash.toLowerCase() as Hex
    let lastCumulative: bigint | undefined =
      anchor.cumulativeAmount ?? (anchor.seq === 0 ? 0n : undefined)
    let head = -1
    let count = 0
    for (const i of indexes) {
      const receipt = receipts[i]!
      const hash = hashes[i]!
      if (receipt.seq === lastSeq && head >= 0) {
        if (hash === lastHash) issues.push({ type: 'duplicate', ...ref, seq: receipt.seq, hash })
        else issues.push(fork(receipts[head]!, lastHash, receipt, hash))
        continue
      }
      if (receipt.seq !== lastSeq + 1)
        issues.push({ type: 'gap', ...ref, afterSeq: lastSeq, nextSeq: receipt.seq })
      else if (receipt.prev.toLowerCase() !== lastHash)
        issues.push({
          type: 'brokenLink',
          ...ref,
          seq: receipt.seq,
          expected: lastHash,
          actual: receipt.prev,
        })
      else if (lastCumulative !== undefined) {
        const expected = expectedCumulativeAmount(lastCumulative, receipt.amount)
        const actual = receipt.cumulativeAmount
        if (actual !== expected)
          issues.push({
            type: 'cumulativeMismatch',
            ...ref,
            seq: receipt.seq,
            expected,
            actual,
            error: new CumulativeAmountMismatchError({ seq: receipt.seq, expected, actual }),
          })
      }
      lastCumulative = receipt.cumulativeAmount
      lastSeq = receipt.seq
      lastHash = hash
      head = i
      count++
    }
    const headReceipt = receipts[head]!
    if (!isSignedBy(lastHash, headReceipt.signature, meter))
      issues.push({ type: 'badSignature', ...ref, seq: lastSeq, hash: lastHash })
    chains.push({
      assetId,
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
  const { assetId, meter, user, seq } = a
  return { type: 'fork', assetId, meter, user, seq, hashes: [aHash, bHash], proven }
}

function toBaseError(error: unknown): BaseError {
  return error instanceof BaseError
    ? error
    : new BaseError('Receipt could not be hashed.', { code: 'INVALID_RECEIPT', cause: error })
}
