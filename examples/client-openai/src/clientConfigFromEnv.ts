import type { TrustedMeters } from '@rma/client'
import { getSettlementContract } from '@rma/contracts'
import { type Address, createPriceTable, type Hex } from '@rma/core'
import { type Env, loadWallet, required } from '@rma/example-shared'
import { JsonRpcProvider, Wallet } from 'ethers'
import type { ClientConfig } from './runClient.js'

export type ClientEnvConfig = ClientConfig & {
  model: string
  /** The provider's origin (for `/rma/proofs`). */
  providerURL: string
  /** The chain, for claims and for checking the meter on chain. */
  provider: JsonRpcProvider | undefined
  /** True when no user key was configured and a throwaway one was made. */
  throwawayKey: boolean
}

/**
 * The client app's configuration from environment variables (see the README): RMA_BASE_URL,
 * RMA_USER_PRIVATE_KEY or RMA_USER_KEYSTORE (+ _PASSWORD), RMA_ASSET_ID, RMA_CHAIN_ID,
 * RMA_SETTLEMENT_CONTRACT, RMA_METERS, RMA_MAX_AMOUNT_PER_CALL, RMA_PRICES, RMA_MODEL, RMA_RPC_URL.
 *
 * @example
 * const config = await clientConfigFromEnv(process.env)
 */
export async function clientConfigFromEnv(env: Env = process.env): Promise<ClientEnvConfig> {
  const baseURL = (env.RMA_BASE_URL || 'http://127.0.0.1:8787/v1').replace(/\/+$/, '')
  const providerURL = new URL(baseURL).origin
  const assetId = required(env, 'RMA_ASSET_ID', /^0x[0-9a-fA-F]{64}$/, 'a bytes32') as Hex
  const settlementContract = required(
    env,
    'RMA_SETTLEMENT_CONTRACT',
    /^0x[0-9a-fA-F]{40}$/,
    'an address',
  ) as Address
  const chainId = Number(env.RMA_CHAIN_ID || 31337)
  // No response cache: ethers reuses identical calls for 250 ms, which would give two
  // transactions sent back to back the same nonce.
  const provider = env.RMA_RPC_URL
    ? new JsonRpcProvider(env.RMA_RPC_URL, chainId, { staticNetwork: true, cacheTimeout: -1 })
    : undefined
  const loaded = await loadWallet(env, 'RMA_USER')
  // Calls need no funds, only a key: a throwaway one is enough to try the provider.
  const signer = (loaded ?? Wallet.createRandom()).connect(provider ?? null)
  const maxAmount = env.RMA_MAX_AMOUNT_PER_CALL || '100000'
  if (!/^\d+$/.test(maxAmount))
    throw new Error('RMA_MAX_AMOUNT_PER_CALL must be an integer (payment-token base units).')
  return {
    baseURL,
    providerURL,
    signer,
    throwawayKey: !loaded,
    assetId,
    chainId,
    settlementContract,
    meters: env.RMA_METERS
      ? (env.RMA_METERS.split(',').map((m) => m.trim()) as Address[])
      : metersOf(providerURL, provider, settlementContract, assetId),
    maxAmountPerCall: BigInt(maxAmount),
    // The prices the user agreed to: every receipt's amount is re-priced and must match.
    prices: env.RMA_PRICES ? pricesOf(env.RMA_PRICES) : undefined,
    model: env.RMA_MODEL || 'rma-stand-in-1',
    provider,
  }
}

/**
 * Without RMA_METERS: the meter the provider names at `/rma/health`, trusted only if the
 * settlement contract lists it for the asset (with RMA_RPC_URL), else taken on the provider's word.
 */
function metersOf(
  providerURL: string,
  provider: JsonRpcProvider | undefined,
  settlementContract: Address,
  assetId: Hex,
): TrustedMeters {
  return async () => {
    const health = (await (await fetch(`${providerURL}/rma/health`)).json()) as { meter: Address }
    if (!provider) {
      console.warn(
        `[client] trusting meter ${health.meter} on the provider's word: set RMA_METERS, or RMA_RPC_URL to check it on chain`,
      )
      return [health.meter]
    }
    const listed = await getSettlementContract(settlementContract, provider).isMeter(
      assetId,
      health.meter,
    )
    if (!listed) console.warn(`[client] meter ${health.meter} is not authorised on chain`)
    return listed ? [health.meter] : []
  }
}

function pricesOf(json: string) {
  try {
    return createPriceTable({ models: JSON.parse(json) })
  } catch (error) {
    throw new Error(
      `RMA_PRICES must be the provider's price table as JSON, {"model": {"input": "2500000", "output": "10000000"}}: ${error instanceof Error ? error.message : error}`,
    )
  }
}
