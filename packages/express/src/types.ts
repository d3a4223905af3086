import type { Address, Hex, Usage } from '@rma/core'
import type { PrepaidHold } from './createPrepaidCoverage.js'
import type { RequestFields } from './requestFields.js'
import type { Endpoint } from './usage/endpointOf.js'

/** What the meter knows about a metered call; on `req.rma` for handlers after it. */
export type RmaRequestContext = {
  /** The call's id, sent as `rma-receipt-id` (also for streams, before usage is known). */
  id: string
  endpoint: Endpoint
  user: Address
  /** keccak256 of the exact request body bytes. */
  requestHash: Hex
  /**
   * The exact request body bytes and their parsed JSON. A large body (over `largeBodyBytes`) is
   * parsed off the server thread for the meter; `body` then parses it again on first read,
   * on the server thread: handlers that need only the model, stream and max tokens read
   * `fields`.
   */
  rawBody: Buffer
  body: Record<string, unknown>
  /** The body's members the meter reads (`requestFieldNames`), parsed. */
  fields: RequestFields
  stream: boolean
  /** The client asked for the receipt inside the stream (`rma-receipt: inline`). */
  inline: boolean
  /** The spend cap of the caller's attestation, if any. */
  maxAmount: bigint | undefined
  /**
   * The EIP-712 digest of the caller's attestation (`hashAttestation`), which the receipt
   * carries as `attestation`; 32 zero bytes for a call without one.
   */
  attestationDigest: Hex
  startedAt: number
  /**
   * Set by a handler (such as `openaiProxy`) that read the upstream's usage itself, for
   * example from a usage chunk it removed from the stream.
   */
  upstreamUsage?: { usage: Usage; model: string | undefined }
  /** Set by a handler that keeps reading the upstream after the client left, for exact usage. */
  draining?: boolean
  /**
   * Prepaid mode: the call's reservation of its `maxAmount`, released once its receipt is
   * stored or it ended without one.
   */
  prepaid?: PrepaidHold
}

declare global {
  namespace Express {
    interface Request {
      /** Set by `rmaMeter()` on metered routes. */
      rma?: RmaRequestContext
    }
  }
}
