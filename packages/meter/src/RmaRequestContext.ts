import type { Buffer } from 'node:buffer'
import type { Usage } from '@rma/core'
import type { PrepaidHold } from './createPrepaidCoverage.js'
import type { MeteredCall } from './MeteredCall.js'

/**
 * The meter's whole record of an admitted call: the {@link MeteredCall} handlers see (on
 * Express's `req.rma`) plus what the meter keeps for settling it.
 */
export type RmaRequestContext = MeteredCall & {
  readonly rawBody: Buffer
  startedAt: number
  /**
   * What the handler reported (`report`); setting it is the same as calling `report`, kept for
   * handlers written before `report` existed.
   */
  upstreamUsage?: { usage: Usage; model: string | undefined }
  /** Set by `drain()` (or directly, as handlers did before it existed). */
  draining?: boolean
  /**
   * Prepaid mode: the call's reservation of its `maxAmount`, released once its receipt is
   * stored or it ended without one.
   */
  prepaid?: PrepaidHold
}
