import { getReceipt, type ReceiptRecord, type TrustedMeters, withRMA } from '@rma/client'
import type { Address, Hex, PriceTable } from '@rma/core'
import type { Signer } from 'ethers'
import OpenAI from 'openai'
import { formatReceipt } from './formatReceipt.js'

export type ClientConfig = {
  /** The provider's OpenAI-compatible base URL, `http://127.0.0.1:8787/v1`. */
  baseURL: string
  /** Only for providers that also want an API key; with RMA the attestation identifies the user. */
  apiKey?: string
  /** The API user's key: signs an attestation per call and acks receipts. Never logged. */
  signer: Signer
  assetId: Hex
  chainId: number
  settlementContract: Address
  /** Meter addresses trusted to sign receipts (or a loader, e.g. checked on chain). */
  meters: TrustedMeters
  /** Spend cap of each call, payment-token base units. */
  maxAmountPerCall: bigint
  /** With the provider's prices, each receipt's amount is re-priced and must match. */
  prices?: PriceTable
  /** Whether the asset committed a price-table root on chain (receipts naming another are refused). */
  priceTableCommitted?: (root: Hex) => boolean | Promise<boolean>
}

/** One call to make: a prompt, as JSON or as a stream. */
export type Call = {
  prompt: string
  stream?: boolean
  /** For streams: ask for the usage chunk (default true), so the client checks usage too. */
  includeUsage?: boolean
}

export type CallResult = { prompt: string; stream: boolean; reply: string; record: ReceiptRecord }

export type RmaOpenAI = ReturnType<typeof createRmaOpenAI>

/**
 * An OpenAI client for the provider, wrapped by `withRMA`: every call is attested with the
 * user's key, every receipt verified (signature, trusted meter, request and response hashes,
 * usage, price, spend cap, chain) and kept in `client.rma.ledger`.
 *
 * @example
 * const client = createRmaOpenAI({ baseURL, signer, assetId, chainId, settlementContract, meters, maxAmountPerCall: 100_000n })
 * const { response } = await client.chat.completions.create({ model, messages }).withResponse()
 * const { receipt } = await getReceipt(response)
 */
export function createRmaOpenAI(config: ClientConfig) {
  return withRMA(new OpenAI({ baseURL: config.baseURL, apiKey: config.apiKey ?? 'unused' }), {
    signer: config.signer,
    assetId: config.assetId,
    chainId: config.chainId,
    settlementContract: config.settlementContract,
    meters: config.meters,
    maxAmountPerCall: config.maxAmountPerCall,
    prices: config.prices,
    ...(config.priceTableCommitted ? { priceTableCommitted: config.priceTableCommitted } : {}),
  })
}

/**
 * Makes each call in turn, JSON or streaming, and waits for its verified receipt. Receipts that
 * fail a check reject the call with the typed `ReceiptError` (`onMismatch: 'throw'`).
 *
 * @example
 * const results = await runCalls(client, [{ prompt: 'Hi' }, { prompt: 'Stream it', stream: true }], { model })
 */
export async function runCalls(
  client: RmaOpenAI,
  calls: readonly Call[],
  options: { model: string; log?: (line: string) => void },
): Promise<CallResult[]> {
  const results: CallResult[] = []
  for (const call of calls) {
    const messages = [{ role: 'user' as const, content: call.prompt }]
    let reply = ''
    let record: ReceiptRecord
    if (call.stream) {
      const stream = await client.chat.completions.create({
        model: options.model,
        messages,
        stream: true,
        ...(call.includeUsage === false ? {} : { stream_options: { include_usage: true } }),
      })
      for await (const chunk of stream) reply += chunk.choices[0]?.delta?.content ?? ''
      record = await getReceipt(stream)
    } else {
      const { data, response } = await client.chat.completions
        .create({ model: options.model, messages })
        .withResponse()
      reply = data.choices[0]?.message.content ?? ''
      record = await getReceipt(response)
    }
    options.log?.(formatReceipt(record, call.stream ? 'stream' : 'json'))
    results.push({ prompt: call.prompt, stream: call.stream === true, reply, record })
  }
  return results
}

/**
 * The whole client app: wraps an OpenAI client, makes the calls, countersigns the last receipts
 * (`flushAcks`) and returns the results with the ledger's totals.
 *
 * @example
 * const { totals } = await runClient({ ...config, model: 'rma-stand-in-1', calls: [{ prompt: 'Hello' }] })
 */
export async function runClient(
  config: ClientConfig & {
    model: string
    calls: readonly Call[]
    log?: (line: string) => void
    /** Reuse a client (and its ledger) across runs; default: a new one. */
    client?: RmaOpenAI
  },
) {
  const client = config.client ?? createRmaOpenAI(config)
  const results = await runCalls(client, config.calls, { model: config.model, log: config.log })
  await client.rma.settled()
  await client.rma.flushAcks()
  return { client, results, totals: client.rma.ledger.totals().all }
}
