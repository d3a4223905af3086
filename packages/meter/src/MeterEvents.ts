import type { Endpoint, StoredReceipt, Usage } from '@rma/core'

/** What a meter reports through its `events` emitter. */
export type MeterEvents = {
  /** A receipt was signed and stored (before it is delivered). */
  receipt: (event: { stored: StoredReceipt; endpoint: Endpoint; capped: boolean }) => void
  /** Usage had to be estimated: the upstream reported none, or the client left early. */
  estimate: (event: {
    id: string
    reason: 'missing-usage' | 'client-aborted'
    usage: Usage
  }) => void
  /** Something failed after the request was accepted (the response itself may still succeed). */
  error: (error: Error, context: { id?: string }) => void
}
