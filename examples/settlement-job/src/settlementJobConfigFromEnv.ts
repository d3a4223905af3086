import type { Address, Hex } from '@rma/core'
import { type Env, integer, loadWallet, pathOf, required } from '@rma/example-shared'
import { JsonRpcProvider } from 'ethers'
import type { SettlementJobConfig } from './startSettlementJob.js'

/**
 * The job's configuration from environment variables (see the README): RMA_RPC_URL,
 * RMA_SETTLER_PRIVATE_KEY or RMA_SETTLER_KEYSTORE (+ _PASSWORD), RMA_SETTLEMENT_CONTRACT,
 * RMA_ASSET_ID, RMA_DB or RMA_DATABASE_URL, RMA_BATCH_DIR, RMA_BATCH_BASE_URI, RMA_PUBLIC_URL, RMA_BATCH_PORT,
 * RMA_SETTLE_EVERY (seconds), RMA_MIN_RECEIPTS, RMA_CONFIRMATIONS.
 *
 * @example
 * const job = startSettlementJob(await settlementJobConfigFromEnv(process.env))
 */
export async function settlementJobConfigFromEnv(
  env: Env = process.env,
): Promise<
  SettlementJobConfig & { provider: JsonRpcProvider; every: number; minReceipts: number }
> {
  const rpcUrl = required(env, 'RMA_RPC_URL', /^(https?|wss?):\/\//, 'a JSON-RPC URL')
  const wallet = await loadWallet(env, 'RMA_SETTLER')
  if (!wallet)
    throw new Error('Set RMA_SETTLER_PRIVATE_KEY or RMA_SETTLER_KEYSTORE (the settler key).')
  // No response cache: ethers reuses identical calls for 250 ms, which would give two
  // transactions sent back to back the same nonce.
  const provider = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 })
  return {
    provider,
    signer: wallet.connect(provider),
    settlementContract: required(
      env,
      'RMA_SETTLEMENT_CONTRACT',
      /^0x[0-9a-fA-F]{40}$/,
      'an address',
    ) as Address,
    assetId: required(env, 'RMA_ASSET_ID', /^0x[0-9a-fA-F]{64}$/, 'a bytes32') as Hex,
    db: pathOf(env, env.RMA_DB || '.rma/receipts.db'),
    databaseUrl: env.RMA_DATABASE_URL || undefined,
    batchDir: pathOf(env, env.RMA_BATCH_DIR || '.rma/batches'),
    batchBaseUri: env.RMA_BATCH_BASE_URI || undefined,
    publicUrl: env.RMA_PUBLIC_URL || undefined,
    serveBatches: { port: integer(env, 'RMA_BATCH_PORT', 0, 0) },
    every: integer(env, 'RMA_SETTLE_EVERY', 60, 1) * 1000,
    minReceipts: integer(env, 'RMA_MIN_RECEIPTS', 1, 1),
    confirmations: integer(env, 'RMA_CONFIRMATIONS', 1, 1),
  }
}
