import type { Buffer } from 'node:buffer'
import type { Hex } from '@rma/core'
import type { HeaderSource } from './HeaderSource.js'

/** How an adapter must read a request body for the meter (`IncomingCall.readBody`). */
export type BodyReadLimits = {
  /** Largest body accepted, in bytes: refuse with `bodyErrors.tooLarge` past it. */
  limit: number
  /** Longest time the whole body may take to arrive, in ms: refuse with `bodyErrors.timeout`. */
  timeoutMs: number
  /**
   * A body larger than this (by `content-length`, or once that many bytes arrived) must be
   * admitted by `admitLarge` first, which throws the refusal; the rest is then not read.
   */
  largeBytes?: number
  admitLarge?: () => void
  /** Called once the read is over (read or refused) with the server-thread time it took. */
  onBusy?: (ms: number) => void
  /** A body over `largeBytes` need not be hashed (`hash` undefined): the meter hashes it elsewhere. */
  skipLargeHash?: boolean
}

/** A body as read: the exact bytes and, unless skipped, their keccak256 computed as they arrived. */
export type BodyRead = { raw: Buffer; hash: Hex | undefined; busyMs: number }

/**
 * A request as the meter's admission sees it, whatever the framework: adapters build one from
 * their own request (a web `Request` in `meter.fetch`, a Node `req` in Express).
 */
export type IncomingCall = {
  method: string
  /** Request target (path and query) or a whole URL. */
  url: string
  headers: HeaderSource
  /** What the meter's `identify` is called with: the adapter's own request object. */
  request: unknown
  /** Reads the whole body under the limits (refusals are `MeterError`s). */
  readBody(limits: BodyReadLimits): Promise<BodyRead>
  /** The client left: nothing more is done for it. */
  clientGone(): boolean
}
