import { callsByTarget } from './callRegistry.js'
import { createRmaEngine, type Engine, type RmaClient } from './createRmaEngine.js'
import { rmaByFetch } from './getRMA.js'
import { readBodyBytes } from './readBodyBytes.js'
import type { RmaClientOptions } from './resolveClientConfig.js'
import { wrapResponse } from './wrapResponse.js'

/** A fetch that attests metered calls and checks their receipts; its RMA side on `.rma`. */
export type RmaFetch = typeof fetch & { readonly rma: RmaClient }

/**
 * A `fetch` for any fetch-based client (the OpenAI SDK, the Vercel AI SDK, plain code) that
 * signs a `RequestAttestation` for each metered call (keccak256 of the exact body bytes, a
 * random 256-bit nonce, an expiry), asks for the receipt inline, strips it from streams and
 * checks every receipt. `withRMA` is this fetch handed to `openai.withOptions({ fetch })`.
 *
 * @example
 * const rmaFetch = createRmaFetch({ signer, assetId, chainId, settlementContract, meters, maxAmountPerCall: 10n ** 6n })
 * const res = await rmaFetch('http://localhost:8080/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
 * const { receipt } = await rmaFetch.rma.getReceipt(res)
 */
export function createRmaFetch(
  options: RmaClientOptions,
  extra: { defaultURL?: string } = {},
): RmaFetch {
  const engine = createRmaEngine(options, extra)
  const rmaFetch = fetchThrough(engine)
  rmaByFetch.set(rmaFetch, engine.rma)
  return Object.assign(rmaFetch, { rma: engine.rma })
}

/** The fetch function of an engine. */
export function fetchThrough(engine: Engine): typeof fetch {
  const inner = engine.config.fetch
  return async function rmaFetch(input, init = {}) {
    const request = input instanceof Request ? input : undefined
    const url = new URL(request ? request.url : String(input))
    const method = init.method ?? request?.method ?? 'GET'
    if (!engine.config.metered(url, method)) return inner(input, init)
    let body = readBodyBytes(init.body)
    if (request && init.body === undefined && request.body)
      body = new Uint8Array(await request.clone().arrayBuffer())
    if (!body) return inner(input, init)
    const { call, headers } = await engine.begin(url, body)
    const merged = new Headers(request?.headers)
    for (const [name, value] of new Headers(init.headers)) merged.set(name, value)
    for (const [name, value] of Object.entries(headers)) merged.set(name, value)
    merged.set('rma-receipt', 'inline')
    let response: Response
    try {
      response = await inner(request ? url.href : input, {
        ...init,
        method,
        headers: merged,
        // A string goes as is: fetch encodes it to the same UTF-8 bytes that were hashed, and
        // undici sends a string in one write where it streams a Uint8Array chunk by chunk.
        body: typeof init.body === 'string' ? init.body : (body as Uint8Array<ArrayBuffer>),
        signal: init.signal ?? request?.signal,
      })
    } catch (error) {
      engine.skip(call, 'The request failed before a response arrived.')
      throw error
    }
    const signal = init.signal ?? request?.signal
    if (signal) callsByTarget.set(signal, call)
    return wrapResponse(engine, call, response)
  }
}
