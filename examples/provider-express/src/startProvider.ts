import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type Address,
  createPriceTable,
  type Hex,
  type PriceTable,
  type ReceiptStore,
} from '@rma/core'
import {
  loadMeterSigner,
  type MeterKeySource,
  openaiProxy,
  type RmaMeter,
  type RmaMeterOptions,
  type RmaRouterOptions,
  rmaMeter,
  rmaRouter,
} from '@rma/express'
import { createBatchFileHandler, createRebateProver } from '@rma/settlement'
import { createPostgresStore, createSqliteStore } from '@rma/store'
import { JsonRpcProvider } from 'ethers'
import express from 'express'
import { type StandInModel, standInModelName, startStandInModel } from './standInModel.js'

/** Where the provider writes what it does; the meter key is never passed to it. */
export type Logger = { info(message: string): void; warn(message: string): void }

export type ProviderConfig = {
  /** Port to listen on (0: any free port). Default 8787. */
  port?: number
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string
  /**
   * An OpenAI-compatible API to meter (`https://api.openai.com/v1`, a vLLM or Ollama `/v1`),
   * with the key the provider pays it with. Without it, a local stand-in model is started.
   */
  upstream?: { baseURL: string; apiKey?: string }
  /** The model asset (bytes32) the calls pay into, registered on the settlement contract. */
  assetId: Hex
  chainId: number
  settlementContract: Address
  /**
   * The meter key, authorised for the asset on chain: a Signer or 0x key, an encrypted keystore,
   * or the environment (`RMA_METER_PRIVATE_KEY`, or `RMA_METER_KEYSTORE` +
   * `RMA_METER_KEYSTORE_PASSWORD`). Default: the process environment.
   */
  meterKey?: MeterKeySource
  /** Receipts go here: a SQLite file (default `./.rma/receipts.db`)… */
  db?: string
  /** …or a PostgreSQL database (several provider instances, each with its own meter key). */
  databaseUrl?: string
  /** …or a store you opened yourself (it is not closed by `close()`). */
  store?: ReceiptStore
  /** Payment-token base units per 1M tokens, per model. Default {@link defaultPrices}. */
  prices?: PriceTable
  /**
   * Serves `GET /rma/proofs/:user` (users' rebate proofs) from the settlement job's batch files:
   * either a function (`prover.proofFor`) or the chain and the job's batch directory.
   */
  proofs?: RmaRouterOptions['proofs'] | { rpcUrl: string; batchDir: string }
  /**
   * Publishes the settlement job's batch directory at `/rma/batches` (immutable, ETag = content
   * hash): the job's batch URIs are then `<this server's public URL>/rma/batches/…`
   * (`RMA_PUBLIC_URL`).
   */
  batchDir?: string
  /**
   * Prepaid mode: serve attested calls only while the user's prepaid balance covers them
   * (`rmaMeter`'s `prepaid` option); needs `rpcUrl`.
   */
  prepaid?: RmaMeterOptions['prepaid']
  /** JSON-RPC URL of the settlement chain (the meter's on-chain checks and prepaid balances). */
  rpcUrl?: string
  /** Serve only with a price table the asset committed on chain (`rmaMeter`'s option); needs `rpcUrl`. */
  requireCommittedPrices?: boolean
  logger?: Logger
  /** Log a line per signed receipt (default true). */
  logReceipts?: boolean
}

export type Provider = {
  /** The server's origin, `http://127.0.0.1:8787`. */
  url: string
  /** What an OpenAI client's `baseURL` is set to: `${url}/v1`. */
  baseURL: string
  meter: RmaMeter
  /** The meter's address (receipts name it; the asset must list it on chain). */
  meterAddress: Address
  store: ReceiptStore
  /** What the calls are forwarded to. */
  upstream: { kind: 'stand-in' | 'upstream'; baseURL: string }
  close(): Promise<void>
}

/**
 * The default price table, USDC-like 6-decimal base units per 1M tokens: the stand-in at
 * gpt-4o's list prices ($2.50 in, $1.25 cached in, $10 out), and two OpenAI models.
 */
export const defaultPrices = createPriceTable({
  models: {
    [standInModelName]: { input: 2_500_000n, cachedInput: 1_250_000n, output: 10_000_000n },
    'gpt-4o': { input: 2_500_000n, cachedInput: 1_250_000n, output: 10_000_000n },
    'gpt-4o-mini': { input: 150_000n, cachedInput: 75_000n, output: 600_000n },
  },
})

const consoleLogger: Logger = {
  info: (message) => console.log(`[provider] ${message}`),
  warn: (message) => console.warn(`[provider] ${message}`),
}

/**
 * Starts the AI app server: `rmaMeter` (attestation check, pricing, signed receipts into the
 * store), `rmaRouter` (`/rma/receipts`, `/rma/acks`, `/rma/proofs`, `/rma/health`,
 * `/rma/metrics`) and `openaiProxy` to the upstream, or to a local stand-in model when no
 * upstream is configured.
 *
 * @example
 * const provider = await startProvider({ assetId, chainId: 31337, settlementContract, meterKey: { signer: meterKey } })
 * const client = withRMA(new OpenAI({ baseURL: provider.baseURL, apiKey: 'unused' }), options)
 * await provider.close()
 */
export async function startProvider(config: ProviderConfig): Promise<Provider> {
  const logger = config.logger ?? consoleLogger
  const closers: (() => Promise<void>)[] = []
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) await closer()
  }
  try {
    // Load the key first: a missing or bad key fails at startup, before anything is opened.
    const signer = await loadMeterSigner(config.meterKey ?? {})
    const meterAddress = (await signer.getAddress()) as Address
    const store = config.store ?? openStore(config)
    if (!config.store) closers.push(() => store.close())

    const meter = rmaMeter({
      assetId: config.assetId,
      chainId: config.chainId,
      settlementContract: config.settlementContract,
      prices: config.prices ?? defaultPrices,
      store,
      signer,
      // The stand-in's replies are short (they echo the prompt), so calls without max_tokens are
      // priced at 4,096 output tokens, not the 16,384 a real OpenAI model may write: at the
      // stand-in's price that would exceed the example client's default cap and be refused.
      ...(config.upstream ? {} : { defaultMaxOutputTokens: 4096 }),
      ...(config.rpcUrl ? { rpcUrl: config.rpcUrl } : {}),
      ...(config.prepaid ? { prepaid: config.prepaid } : {}),
      ...(config.requireCommittedPrices ? { requireCommittedPrices: true } : {}),
      logger: { warn: (m) => logger.warn(m), error: (m) => logger.warn(m) },
    })
    if (config.logReceipts !== false)
      meter.events.on('receipt', ({ stored, capped }) => {
        const r = stored.receipt
        logger.info(
          `receipt ${r.user.slice(0, 10)}… seq ${r.seq}: ${r.model}, ${r.inputTokens} in / ${r.outputTokens} out tokens (${r.usageSource}), amount ${r.amount}${capped ? ' (capped)' : ''}`,
        )
      })
    meter.events.on('error', (error) => logger.warn(`meter: ${error.message}`))

    let standIn: StandInModel | undefined
    if (!config.upstream) {
      standIn = await startStandInModel()
      closers.push(() => standIn!.close())
      logger.info(
        `no UPSTREAM_BASE_URL: serving the local STAND-IN model "${standIn.model}" at ${standIn.baseURL} (deterministic replies, real o200k token counts; not a real LLM)`,
      )
    }
    const upstream = config.upstream ?? { baseURL: standIn!.baseURL }

    const app = express()
    app.disable('x-powered-by')
    app.use(meter) // before any body parser: it hashes the exact request bytes
    app.use(
      rmaRouter({
        meter,
        proofs: proofsOf(config, store, closers),
        ...(config.batchDir
          ? { batches: createBatchFileHandler({ batchDir: config.batchDir }) }
          : {}),
      }),
    )
    app.post(
      '/v1/*path',
      openaiProxy({ upstream: upstream.baseURL, apiKey: config.upstream?.apiKey }),
    )

    const server: Server = app.listen(config.port ?? 8787, config.host ?? '127.0.0.1')
    await once(server, 'listening') // rejects with the 'error' event (port taken…)
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        }),
    )
    const { address, port } = server.address() as AddressInfo
    const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`
    logger.info(
      `listening on ${url}/v1 (meter ${meterAddress}, asset ${config.assetId.slice(0, 10)}…, chain ${config.chainId})`,
    )
    return {
      url,
      baseURL: `${url}/v1`,
      meter,
      meterAddress,
      store,
      upstream: { kind: standIn ? 'stand-in' : 'upstream', baseURL: upstream.baseURL },
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}

function openStore(config: ProviderConfig): ReceiptStore {
  if (config.databaseUrl) return createPostgresStore({ connectionString: config.databaseUrl })
  return createSqliteStore({ path: config.db ?? './.rma/receipts.db' })
}

/** The rebate prover alone (no key: proofs only read the chain and the proof indexes). */
function proofsOf(
  config: ProviderConfig,
  store: ReceiptStore,
  closers: (() => Promise<void>)[],
): RmaRouterOptions['proofs'] {
  const proofs = config.proofs
  if (proofs === undefined || typeof proofs === 'function') return proofs
  const provider = new JsonRpcProvider(proofs.rpcUrl, config.chainId, { staticNetwork: true })
  closers.push(async () => provider.destroy())
  return createRebateProver({
    store,
    runner: provider,
    contract: config.settlementContract,
    assetId: config.assetId,
    batchDir: proofs.batchDir,
  }).proofFor
}
