import { type Address, createPriceTable, type Hex } from '@rma/core'
import { type Env, integer, pathOf, required } from '@rma/example-shared'
import type { ProviderConfig } from './startProvider.js'

/**
 * The provider's configuration from environment variables (see the README for each):
 * PORT, HOST, UPSTREAM_BASE_URL, UPSTREAM_API_KEY, RMA_ASSET_ID, RMA_CHAIN_ID,
 * RMA_SETTLEMENT_CONTRACT, RMA_DB or RMA_DATABASE_URL, RMA_PRICES, RMA_RPC_URL and RMA_BATCH_DIR,
 * and the meter key (RMA_METER_PRIVATE_KEY, or RMA_METER_KEYSTORE + RMA_METER_KEYSTORE_PASSWORD),
 * which is read by `rmaMeter` itself and never copied here.
 *
 * @example
 * const provider = await startProvider(providerConfigFromEnv(process.env))
 */
export function providerConfigFromEnv(env: Env = process.env): ProviderConfig {
  const upstream = env.UPSTREAM_BASE_URL
    ? { baseURL: env.UPSTREAM_BASE_URL, apiKey: env.UPSTREAM_API_KEY || undefined }
    : undefined
  if (!upstream && env.UPSTREAM_API_KEY)
    throw new Error('UPSTREAM_API_KEY is set but UPSTREAM_BASE_URL is not: set both, or neither.')
  return {
    port: integer(env, 'PORT', 8787),
    host: env.HOST || '127.0.0.1',
    upstream,
    assetId: required(env, 'RMA_ASSET_ID', /^0x[0-9a-fA-F]{64}$/, 'a bytes32 (0x + 64 hex)') as Hex,
    chainId: integer(env, 'RMA_CHAIN_ID', 31337),
    settlementContract: required(
      env,
      'RMA_SETTLEMENT_CONTRACT',
      /^0x[0-9a-fA-F]{40}$/,
      'an address',
    ) as Address,
    meterKey: { env },
    db: pathOf(env, env.RMA_DB || '.rma/receipts.db'),
    databaseUrl: env.RMA_DATABASE_URL || undefined,
    prices: env.RMA_PRICES ? pricesOf(env.RMA_PRICES) : undefined,
    // With the chain and the settlement job's batch files, serve users' rebate proofs.
    proofs: env.RMA_RPC_URL
      ? { rpcUrl: env.RMA_RPC_URL, batchDir: pathOf(env, env.RMA_BATCH_DIR || '.rma/batches') }
      : undefined,
    // The settlement job's batch files, published at /rma/batches (its RMA_PUBLIC_URL is this server).
    batchDir: pathOf(env, env.RMA_BATCH_DIR || '.rma/batches'),
  }
}

/** `RMA_PRICES`: `{"model": {"input": "2500000", "output": "10000000"}}`, base units per 1M tokens. */
function pricesOf(json: string) {
  let models: unknown
  try {
    models = JSON.parse(json)
  } catch {
    throw new Error(
      'RMA_PRICES must be JSON: {"model": {"input": "2500000", "output": "10000000"}} (base units per 1M tokens).',
    )
  }
  return createPriceTable({ models: models as Parameters<typeof createPriceTable>[0]['models'] })
}
