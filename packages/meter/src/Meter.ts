import type { Endpoint } from '@rma/core'
import type { EventEmitter } from 'eventemitter3'
import type { MeterMetrics } from './createMeterMetrics.js'
import type { IncomingCall } from './IncomingCall.js'
import type { MeterEvents } from './MeterEvents.js'
import type { MeteredHandler } from './MeteredHandler.js'
import type { ResponseHooks } from './ResponseHooks.js'
import type { RmaRequestContext } from './RmaRequestContext.js'
import type { MeterConfig } from './resolveMeterConfig.js'

/** A call the meter admitted, for an adapter to serve and settle. */
export type AdmittedCall = {
  call: RmaRequestContext
  /** What the meter does at each point of the response (feed them through `createResponseGate`). */
  hooks: ResponseHooks
  /** The response is over (delivered, refused or abandoned): frees what admission reserved. */
  done(): void
}

/** A meter: one per asset and meter key, shared by every adapter serving it (`createMeter`). */
export type Meter = {
  readonly config: MeterConfig
  readonly events: EventEmitter<MeterEvents>
  readonly metrics: MeterMetrics
  /**
   * Resolves once the meter can sign: its key answers and, with `rpcUrl`, the chain id, the
   * settlement contract and the key's authorisation as a meter of the asset are checked on
   * chain. Rejects with a `MeterError` `rma_meter_misconfigured` saying what to change; paid
   * calls are refused (503) until it resolves, and for good if it rejected.
   */
  readonly ready: Promise<void>
  /**
   * Web-standard binding: meters one call. A request on no metered route goes straight to
   * `handler(request, undefined)`. A refused call gets an OpenAI-shaped error Response and
   * never reaches the handler. An admitted call reaches `handler(request', call)` where
   * request' is a fresh Request carrying the same bytes (body re-readable); the handler's
   * Response is returned with receipt headers (JSON) or its body wrapped in a metering stream
   * (SSE: frames forwarded as they arrive, terminator held until the receipt is durable,
   * inline receipt frame / SSE error). `signal`: aborts when the client leaves (adapters pass
   * the socket's close).
   */
  fetch(
    request: Request,
    handler: MeteredHandler,
    init?: { signal?: AbortSignal },
  ): Promise<Response>
  /**
   * For adapters: the endpoint a request is metered as, or undefined for a route the meter
   * leaves alone. Throws `MeterError` 400 `rma_invalid_path` for a path without a
   * `canonicalPath` (refused whatever the route: it could hide a metered one).
   */
  endpointOf(method: string, url: string): Endpoint | undefined
  /**
   * For adapters: admits a call on a metered endpoint (see `admitCall`), then checks the store
   * can write its receipt. Rejects with the refusal (a `MeterError`) to answer.
   */
  admit(incoming: IncomingCall, endpoint: Endpoint): Promise<AdmittedCall>
}
