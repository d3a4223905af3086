import type { ReceiptChecks } from './types.js'

/**
 * One line of the ledger's log: an accepted receipt, a rejected one, or an ack or a request
 * attestation this user signed.
 */
export type LedgerEntry =
  | {
      type: 'receipt'
      id: string
      requestId: string | null
      encoded: string
      checks: ReceiptChecks
      receivedAt: number
      /** Origin of the server that delivered it: where acks of its chain go. */
      origin?: string | null
    }
  | {
      type: 'rejected'
      id: string | null
      requestId: string | null
      /** The receipt as received; `null` when none arrived. */
      encoded: string | null
      code: string
      message: string
      at: number
    }
  | { type: 'ack'; encoded: string; at: number }
  /** A request attestation this user signed: the evidence of an overcharge proof. */
  | { type: 'attestation'; encoded: string; at: number }

/**
 * Where the client's receipt ledger lives: an append-only log of JSON-safe entries, replayed by
 * `load()` when a client starts. Implement it to keep receipts in your own database.
 */
export type LedgerStore = {
  load(): Promise<readonly LedgerEntry[]>
  append(entry: LedgerEntry): Promise<void>
}

/**
 * The default ledger store: entries in memory, gone with the process. One store can be given to
 * several clients in turn (a new client replays what the previous one appended).
 *
 * @example
 * const client = withRMA(openai, { ...options, store: createMemoryLedgerStore() })
 */
export function createMemoryLedgerStore(): LedgerStore {
  const entries: LedgerEntry[] = []
  return {
    async load() {
      return [...entries]
    },
    async append(entry) {
      entries.push(entry)
    },
  }
}
