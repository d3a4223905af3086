import {
  type Address,
  type ChainRef,
  chainKey,
  decodeAck,
  decodeAttestation,
  decodeReceipt,
  expectedCumulativeAmount,
  type Hex,
  hashReceipt,
  type RmaDomain,
  type SignedRequestAttestation,
  type SignedUsageReceipt,
  zeroHash,
} from '@rma/core'
import type { LedgerEntry, LedgerStore } from './createMemoryLedgerStore.js'
import type { ChainMismatchKind } from './errors.js'
import type { LedgerTotals, ReceiptRecord, RejectedRecord, Totals } from './types.js'

/** The user's own record of receipts: what they were charged, and the evidence for a dispute. */
export type ReceiptLedger = {
  /** Resolves once the store's entries are replayed. */
  readonly ready: Promise<void>
  /** Accepted receipts in the order they were accepted, optionally filtered. */
  list(filter?: { meter?: Address; assetId?: Hex; model?: string }): ReceiptRecord[]
  /** A receipt by call id (`rma-receipt-id`) or receipt hash. */
  get(idOrHash: string): ReceiptRecord | undefined
  /** Receipts and missing receipts that failed a check. */
  rejected(): RejectedRecord[]
  /** Tokens and amounts of accepted receipts: overall, per asset, per model (bigint amounts). */
  totals(): LedgerTotals
  /** Everything needed in a dispute, JSON-safe: receipts (encoded), acks (encoded), rejections. */
  exportJSON(): LedgerExport
  /**
   * What a fraud proof can be built from: every meter-signed receipt received (accepted, or
   * refused by a check: a refused receipt is evidence too) and every attestation this user
   * signed, decoded. Signatures are not checked here (`findFraud` checks them).
   */
  evidence(): LedgerEvidence
}

/** The user's evidence in a ledger (see {@link ReceiptLedger.evidence}). */
export type LedgerEvidence = {
  receipts: SignedUsageReceipt[]
  attestations: SignedRequestAttestation[]
}

/** The JSON form of a ledger (`ledger.exportJSON()`); every receipt and ack is its compact encoding. */
export type LedgerExport = {
  format: 'rma.ledger/1'
  domain: { name: 'RMA'; version: '1'; chainId: string; verifyingContract: Address }
  receipts: {
    id: string
    requestId: string | null
    hash: Hex
    encoded: string
    checks: ReceiptRecord['checks']
    receivedAt: number
  }[]
  acks: string[]
  /**
   * The request attestations this user signed (compact encoding): the evidence of an overcharge.
   * Optional for readers: exports of older clients have none.
   */
  attestations?: string[]
  rejected: {
    id: string | null
    requestId: string | null
    encoded: string | null
    code: string
    message: string
    at: number
  }[]
}

type Link = { hash: Hex; prev: Hex; amount: bigint; cumulativeAmount: bigint; encoded: string }

/** One (asset, meter, user) chain as this client knows it. */
export type ChainState = {
  assetId: Hex
  meter: Address
  user: Address
  links: Map<number, Link>
  min: number
  max: number
  /** A receipt of this chain failed a check: acking its head would ack that receipt too. */
  disputed: boolean
  /** The accepted receipt with the highest seq. */
  head: ReceiptRecord | undefined
  /** Highest seq countersigned so far (0: none). */
  ackedSeq: number
  /** Unix ms of this process's last ack of the chain (0: none). */
  ackedAt: number
  /** A delayed ack POST is scheduled (`ackMode: 'post'`). */
  ackTimer: ReturnType<typeof setTimeout> | undefined
  /** Origin of the server that delivered the head (acks go back there). */
  origin: string | undefined
}

export type ChainIssue = {
  kind: ChainMismatchKind
  seq: number
  details: string
  conflicting?: string
}

/** The ledger plus what the client engine needs to keep it. */
export type Ledger = ReceiptLedger & {
  /** The chain of an (asset, meter, user); a receipt or an ack names one. */
  chain(ref: ChainRef): ChainState | undefined
  chains(): IterableIterator<ChainState>
  /** How a receipt fits its chain; `'deferred'` for a hole that calls in flight may still fill. */
  checkChain(
    receipt: SignedUsageReceipt,
    hash: Hex,
    othersInFlight: boolean,
  ): ChainIssue | 'deferred' | undefined
  /** Adds a validly signed receipt to its chain index (accepted or not). */
  link(receipt: SignedUsageReceipt, hash: Hex, encoded: string): ChainState
  accept(record: ReceiptRecord, origin: string | undefined): void
  reject(record: RejectedRecord, chain?: ChainState): void
  addAck(encoded: string, chain: ChainState, seq: number): void
  /** Keeps a request attestation this user signed (the evidence of an overcharge). */
  addAttestation(encoded: string): void
  /** Resolves once every entry appended so far is written to the store. */
  flushed(): Promise<void>
  /** Holes left in chains that had deferred gaps, once no call is in flight. */
  takeGaps(): { chain: ChainState; seq: number }[]
}

/**
 * Builds the ledger over a store and replays the store's entries.
 *
 * @example
 * const ledger = createLedger({ domain, store: createMemoryLedgerStore(), onError })
 */
export function createLedger(parameters: {
  domain: RmaDomain
  store: LedgerStore
  onError: (error: Error) => void
}): Ledger {
  const { domain, store, onError } = parameters
  const accepted: ReceiptRecord[] = []
  const byKey = new Map<string, ReceiptRecord>()
  const rejected: RejectedRecord[] = []
  const acks: string[] = []
  const attestations: string[] = []
  const chains = new Map<string, ChainState>()
  const deferred = new Set<ChainState>()

  let writes: Promise<unknown> = Promise.resolve()
  const persist = (entry: LedgerEntry) => {
    const write = store.append(entry).catch((error: unknown) => onError(asError(error)))
    writes = Promise.all([writes, write])
  }

  // Keyed like the meter's store and verifyReceiptChain: one meter key serving two assets keeps
  // two chains, each from seq 1, so neither shows the other's receipts as gaps.
  const chainOf = ({ assetId, meter, user }: ChainRef): ChainState => {
    const key = chainKey(assetId, meter, user)
    let chain = chains.get(key)
    if (!chain) {
      chain = {
        assetId: assetId.toLowerCase() as Hex,
        meter: meter.toLowerCase() as Address,
        user: user.toLowerCase() as Address,
        links: new Map(),
        min: Number.POSITIVE_INFINITY,
        max: 0,
        disputed: false,
        head: undefined,
        ackedSeq: 0,
        ackedAt: 0,
        ackTimer: undefined,
        origin: undefined,
      }
      chains.set(key, chain)
    }
    return chain
  }

  const ledger: Ledger = {
    ready: Promise.resolve(),
    list(filter = {}) {
      return accepted.filter(
        ({ receipt }) =>
          (filter.meter === undefined || receipt.meter === filter.meter.toLowerCase()) &&
          (filter.assetId === undefined || receipt.assetId === filter.assetId.toLowerCase()) &&
          (filter.model === undefined || receipt.model === filter.model),
      )
    },
    get(idOrHash) {
      return byKey.get(idOrHash) ?? byKey.get(idOrHash.toLowerCase())
    },
    rejected() {
      return [...rejected]
    },
    totals() {
      const all = emptyTotals()
      const byAsset: Record<Hex, Totals> = {}
      const byModel: Record<string, Totals> = {}
      for (const { receipt } of accepted) {
        add(all, receipt)
        byAsset[receipt.assetId] = add(byAsset[receipt.assetId] ?? emptyTotals(), receipt)
        byModel[receipt.model] = add(byModel[receipt.model] ?? emptyTotals(), receipt)
      }
      return { all, byAsset, byModel }
    },
    exportJSON() {
      return {
        format: 'rma.ledger/1',
        domain: {
          name: 'RMA',
          version: '1',
          chainId: domain.chainId.toString(),
          verifyingContract: domain.verifyingContract,
        },
        receipts: accepted.map((r) => ({
          id: r.id,
          requestId: r.requestId ?? null,
          hash: r.hash,
          encoded: r.encoded,
          checks: r.checks,
          receivedAt: r.receivedAt,
        })),
        acks: [...acks],
        attestations: [...attestations],
        rejected: rejected.map((r) => ({
          id: r.id ?? null,
          requestId: r.requestId ?? null,
          encoded: r.encoded ?? null,
          code: r.code,
          message: r.message,
          at: r.at,
        })),
      }
    },
    evidence() {
      const receipts: SignedUsageReceipt[] = accepted.map((r) => r.receipt)
      for (const { encoded } of rejected) {
        if (encoded === undefined) continue
        try {
          receipts.push(decodeReceipt(encoded))
        } catch {}
      }
      const signed: SignedRequestAttestation[] = []
      for (const encoded of attestations) {
        try {
          signed.push(decodeAttestation(encoded))
        } catch {}
      }
      return { receipts, attestations: signed }
    },
    chain({ assetId, meter, user }) {
      return chains.get(chainKey(assetId, meter, user))
    },
    chains() {
      return chains.values()
    },
    checkChain(receipt, hash, othersInFlight) {
      const chain = ledger.chain(receipt)
      const { seq, prev } = receipt
      const at = chain?.links.get(seq)
      if (at)
        return at.hash === hash
          ? {
              kind: 'duplicate',
              seq,
              details: 'This receipt was already received for another call.',
            }
          : {
              kind: 'fork',
              seq,
              details: `Receipt ${at.hash} already holds seq ${seq} of this chain.`,
              conflicting: at.encoded,
            }
      if (seq === 1 && prev !== zeroHash)
        return {
          kind: 'brokenLink',
          seq,
          details: 'The first receipt of a chain has prev 0x00…00.',
        }
      if (!chain) return cumulativeIssue(receipt, undefined, undefined)
      const below = chain.links.get(seq - 1)
      if (below && below.hash !== prev)
        return {
          kind: 'brokenLink',
          seq,
          details: `prev is ${prev}, the receipt at seq ${seq - 1} hashes to ${below.hash}.`,
        }
      const above = chain.links.get(seq + 1)
      if (above && above.prev !== hash)
        return {
          kind: 'brokenLink',
          seq,
          details: `The receipt at seq ${seq + 1} names prev ${above.prev}, this one hashes to ${hash}.`,
        }
      const cumulative = cumulativeIssue(receipt, below, above)
      if (cumulative) return cumulative
      const holeBelow = !below && seq > chain.min
      const holeAbove = !above && seq < chain.max
      if (!holeBelow && !holeAbove) return undefined
      if (othersInFlight) {
        deferred.add(chain)
        return 'deferred'
      }
      return {
        kind: 'gap',
        seq,
        details: holeBelow
          ? `No receipt at seq ${seq - 1} (the chain's latest is ${chain.max}).`
          : `No receipt at seq ${seq + 1} (the chain continues at ${chain.min}).`,
      }
    },
    link(receipt, hash, encoded) {
      const chain = chainOf(receipt)
      if (!chain.links.has(receipt.seq)) {
        chain.links.set(receipt.seq, {
          hash,
          prev: receipt.prev,
          amount: receipt.amount,
          cumulativeAmount: receipt.cumulativeAmount,
          encoded,
        })
        chain.min = Math.min(chain.min, receipt.seq)
        chain.max = Math.max(chain.max, receipt.seq)
      }
      return chain
    },
    accept(record, origin) {
      accepted.push(record)
      byKey.set(record.id, record)
      byKey.set(record.hash, record)
      const chain = chainOf(record.receipt)
      if (!chain.head || record.receipt.seq > chain.head.receipt.seq) {
        chain.head = record
        if (origin) chain.origin = origin
      }
      persist({
        type: 'receipt',
        id: record.id,
        requestId: record.requestId ?? null,
        encoded: record.encoded,
        checks: record.checks,
        receivedAt: record.receivedAt,
        origin: origin ?? null,
      })
    },
    reject(record, chain) {
      rejected.push(record)
      if (chain) chain.disputed = true
      persist({
        type: 'rejected',
        id: record.id ?? null,
        requestId: record.requestId ?? null,
        encoded: record.encoded ?? null,
        code: record.code,
        message: record.message,
        at: record.at,
      })
    },
    addAck(encoded, chain, seq) {
      acks.push(encoded)
      chain.ackedSeq = Math.max(chain.ackedSeq, seq)
      persist({ type: 'ack', encoded, at: Date.now() })
    },
    addAttestation(encoded) {
      attestations.push(encoded)
      persist({ type: 'attestation', encoded, at: Date.now() })
    },
    async flushed() {
      await writes
    },
    takeGaps() {
      const gaps: { chain: ChainState; seq: number }[] = []
      for (const chain of deferred) {
        for (let seq = chain.min + 1; seq < chain.max; seq++)
          if (!chain.links.has(seq)) gaps.push({ chain, seq })
      }
      deferred.clear()
      return gaps
    },
  }

  const replay = async () => {
    const entries = await store.load()
    for (const entry of entries) {
      try {
        if (entry.type === 'receipt') {
          const receipt = decodeReceipt(entry.encoded)
          const hash = hashReceipt(receipt, domain)
          const record: ReceiptRecord = {
            id: entry.id,
            requestId: entry.requestId ?? undefined,
            hash,
            receipt,
            encoded: entry.encoded,
            checks: entry.checks,
            receivedAt: entry.receivedAt,
          }
          ledger.link(receipt, hash, entry.encoded)
          accepted.push(record)
          byKey.set(record.id, record)
          byKey.set(hash, record)
          const chain = chainOf(receipt)
          if (!chain.head || receipt.seq > chain.head.receipt.seq) {
            chain.head = record
            if (entry.origin) chain.origin = entry.origin
          }
        } else if (entry.type === 'rejected') {
          rejected.push({
            id: entry.id ?? undefined,
            requestId: entry.requestId ?? undefined,
            encoded: entry.encoded ?? undefined,
            code: entry.code,
            message: entry.message,
            at: entry.at,
          })
          if (entry.encoded && !unsignedCodes.has(entry.code)) {
            const receipt = decodeReceipt(entry.encoded)
            ledger.link(receipt, hashReceipt(receipt, domain), entry.encoded).disputed = true
          }
        } else if (entry.type === 'ack') {
          const ack = decodeAck(entry.encoded)
          acks.push(entry.encoded)
          const chain = chainOf(ack)
          chain.ackedSeq = Math.max(chain.ackedSeq, ack.seq)
        } else if (entry.type === 'attestation') {
          attestations.push(entry.encoded)
        }
      } catch (error) {
        onError(asError(error))
      }
    }
  }
  const ready = replay()
  ready.catch((error: unknown) => onError(asError(error)))
  return Object.assign(ledger, { ready: ready.catch(() => undefined) })
}

/**
 * The running total against the neighbours the ledger holds: the receipt's `cumulativeAmount`
 * must be the one below plus its amount (its amount at seq 1), and the one above must be it plus
 * that one's amount. Acking it would sign a voucher for that total.
 */
function cumulativeIssue(
  receipt: SignedUsageReceipt,
  below: Link | undefined,
  above: Link | undefined,
): ChainIssue | undefined {
  const { seq, amount, cumulativeAmount } = receipt
  const previous = seq === 1 ? 0n : below?.cumulativeAmount
  if (previous !== undefined) {
    const expected = expectedCumulativeAmount(previous, amount)
    if (cumulativeAmount !== expected)
      return {
        kind: 'cumulativeAmount',
        seq,
        details: `cumulativeAmount is ${cumulativeAmount}; ${seq === 1 ? 'the first receipt of a chain carries its own amount' : `the receipt at seq ${seq - 1} has ${previous}, plus this amount`} ${amount} makes ${expected}.`,
      }
  }
  if (above && above.cumulativeAmount !== expectedCumulativeAmount(cumulativeAmount, above.amount))
    return {
      kind: 'cumulativeAmount',
      seq,
      details: `The receipt at seq ${seq + 1} has cumulativeAmount ${above.cumulativeAmount}, which is not this one's ${cumulativeAmount} plus its amount ${above.amount}.`,
    }
  return undefined
}

/** Rejections of receipts whose signature is not a trusted meter's: they are not chain members. */
const unsignedCodes = new Set([
  'RECEIPT_MALFORMED',
  'RECEIPT_SIGNATURE_INVALID',
  'UNTRUSTED_METER',
  'RECEIPT_MISSING',
])

function emptyTotals(): Totals {
  return {
    calls: 0,
    amount: 0n,
    inputTokens: 0,
    cachedInputTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
  }
}

function add(totals: Totals, receipt: SignedUsageReceipt): Totals {
  totals.calls++
  totals.amount += receipt.amount
  totals.inputTokens += receipt.inputTokens
  totals.cachedInputTokens += receipt.cachedInputTokens
  totals.outputTokens += receipt.outputTokens
  totals.reasoningTokens += receipt.reasoningTokens
  return totals
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
