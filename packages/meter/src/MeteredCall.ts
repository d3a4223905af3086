import type { Address, Endpoint, Hex, Usage } from '@rma/core'
import type { RequestFields } from './requestFields.js'

/**
 * What a handler knows about a call the meter admitted, and the explicit channel through which
 * it reports back. Express puts it on `req.rma`; `meter.fetch` passes it to the handler.
 *
 * @example
 * const proxy: MeteredHandler = async (request, call) => {
 *   call?.drain() // keep reading the upstream after the client left, for exact usage
 *   call?.report({ usage, model }) // the upstream's usage, read from a chunk removed from the stream
 *   return new Response(body)
 * }
 */
export type MeteredCall = {
  /** The call's id, sent as `rma-receipt-id` (also for streams, before usage is known). */
  readonly id: string
  readonly endpoint: Endpoint
  readonly user: Address
  /** keccak256 of the exact request body bytes. */
  readonly requestHash: Hex
  /** The exact request body bytes. */
  readonly rawBody: Uint8Array
  /**
   * The parsed body. A large body (over `largeBodyBytes`) may be parsed off the server thread
   * for the meter; `body` then parses it again on first read: handlers that need only the
   * model, stream and max tokens read `fields`.
   */
  readonly body: Record<string, unknown>
  /** The body's members the meter reads (`requestFieldNames`), parsed. */
  readonly fields: RequestFields
  readonly stream: boolean
  /** The client asked for the receipt inside the stream (`rma-receipt: inline`). */
  readonly inline: boolean
  /** The spend cap of the caller's attestation, if any. */
  readonly maxAmount: bigint | undefined
  /**
   * The EIP-712 digest of the caller's attestation (`hashAttestation`), which the receipt
   * carries as `attestation`; 32 zero bytes for a call without one.
   */
  readonly attestationDigest: Hex
  /**
   * The handler read the upstream's usage itself (for example from a usage chunk it removed
   * from the stream); the first report counts. Report before writing the bytes that complete
   * the call (`[DONE]`), so the receipt is settled at the terminator.
   */
  report(reported: { usage: Usage; model: string | undefined }): void
  /** The handler keeps reading the upstream after the client left, for exact usage. */
  drain(): void
}
