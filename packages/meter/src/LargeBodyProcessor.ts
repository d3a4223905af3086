import type { Buffer } from 'node:buffer'
import type { Hex } from '@rma/core'
import type { RequestFields } from './requestFields.js'

/** A large body, hashed and parsed off the server thread. */
export type ProcessedBody = {
  /** The exact bytes, as read (the same buffer, handed back by the thread). */
  raw: Buffer
  hash: Hex
  /** Its `requestFieldNames` members, or undefined when it is not a JSON object. */
  fields: RequestFields | undefined
  /** Milliseconds the thread spent on it. */
  busyMs: number
}

/**
 * Hashes and parses a large body (over `largeBodyBytes`) somewhere other than the server
 * thread: Express's body-thread pool. `raw` is moved there and back: use the returned one.
 */
export type LargeBodyProcessor = (raw: Buffer) => Promise<ProcessedBody>
