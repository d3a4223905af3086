import type { ChainParameters } from '@rma/audit'
import { CliError } from './CliError.js'
import type { CommandContext } from './Command.js'
import { parseInteger } from './readEnv.js'

/**
 * The chain parameters of `@rma/audit` from the CLI's options and variables (RMA_RPC_URL,
 * RMA_SETTLEMENT_CONTRACT, RMA_ASSET_ID, RMA_CHAIN_ID, RMA_FROM_BLOCK), `--timeout` per request.
 *
 * @example
 * const status = await readAssetStatus(auditParameters(context))
 */
export function auditParameters(context: CommandContext): ChainParameters {
  const o = context.options
  const need = (name: string, env: string, what: string) => {
    const value = o[name]
    if (typeof value !== 'string' || value === '')
      throw new CliError({
        code: 'CONFIG',
        shortMessage: `--${name} or ${env} is not set: it must be ${what}.`,
      })
    return value
  }
  const chainId = o['chain-id']
  if (chainId !== undefined && !/^\d+$/.test(String(chainId)))
    throw new CliError({
      code: 'CONFIG',
      shortMessage: '--chain-id or RMA_CHAIN_ID must be a decimal chain id.',
    })
  const rpcUrl = need('rpc', 'RMA_RPC_URL', "the chain's JSON-RPC URL")
  if (!/^https?:\/\//i.test(rpcUrl))
    throw new CliError({
      code: 'CONFIG',
      shortMessage: '--rpc or RMA_RPC_URL must be an http(s) JSON-RPC URL.',
    })
  return {
    rpcUrl,
    contract: need('contract', 'RMA_SETTLEMENT_CONTRACT', 'the RMASettlement address'),
    assetId: need('asset', 'RMA_ASSET_ID', "the asset's id (bytes32)"),
    ...(chainId !== undefined ? { chainId: BigInt(String(chainId)) } : {}),
    fromBlock: parseInteger(o['from-block'], '--from-block', 0, 0),
    rpcTimeoutMs: context.timeoutMs,
  }
}
