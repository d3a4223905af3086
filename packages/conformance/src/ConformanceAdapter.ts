import type { MeterOptions, OpenAIProxyOptions } from '@rma/meter'

/** What a conformance server is built from: the meter's options and the proxy's. */
export type ConformanceServerOptions = {
  /** The meter (store, signer, prices, domain): the same for every adapter, no custodial `identify`. */
  meter: Omit<MeterOptions, 'identify'>
  /** The OpenAI-compatible proxy in front of one fake upstream. */
  proxy: OpenAIProxyOptions
}

/** A server started by an adapter on 127.0.0.1. */
export type ConformanceServer = {
  /** `http://127.0.0.1:<port>`: the metered routes under `/v1`, the meter's routes under `/rma`. */
  url: string
  close(): Promise<void>
}

/**
 * How one framework serves the meter: starts a real HTTP server on 127.0.0.1 with the meter in
 * front of the OpenAI-compatible proxy (`POST /v1/…`) and the `/rma` routes. Every adapter runs
 * the same {@link cases}.
 */
export type ConformanceAdapter = {
  /** Listed in CI output as `conformance: <name>`. */
  name: string
  start(options: ConformanceServerOptions): Promise<ConformanceServer>
}
