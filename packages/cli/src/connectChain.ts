import { getSettlementContract, type RmaSettlementContract } from '@rma/contracts'
import type { Address, Hex } from '@rma/core'
import { FetchRequest, JsonRpcProvider, Network } from 'ethers'
import { CliError } from './CliError.js'
import type { CommandContext } from './Command.js'
import { callRpc } from './callRpc.js'
import { requireValue } from './readEnv.js'
import { redactUrl } from './redactUrl.js'

export type Chain = {
  rpcUrl: string
  chainId: bigint
  /** No retries of an unreachable node, no response cache, every request bounded by `--timeout`. */
  provider: JsonRpcProvider
  /** Undefined when the command does not name a contract. */
  contractAddress: Address
  contract: RmaSettlementContract
}

export type AssetChain = Chain & {
  assetId: Hex
  asset: Awaited<ReturnType<RmaSettlementContract['getAsset']>>
}

/**
 * Reaches the chain and checks what a wrong setting would break, in order, each failure one
 * line with its fix: the RPC answers (within `--timeout`), it serves `--chain-id` (when set),
 * the contract address holds code, and with `asset: true` the asset is registered.
 *
 * @example
 * const { contract, asset } = await connectChain(context, { asset: true })
 */
export async function connectChain(
  context: CommandContext,
  need: { asset: true },
): Promise<AssetChain>
export async function connectChain(
  context: CommandContext,
  need?: { asset?: false; contract?: boolean },
): Promise<Chain>
export async function connectChain(
  context: CommandContext,
  need: { asset?: boolean; contract?: boolean } = {},
): Promise<Chain | AssetChain> {
  const { options, timeoutMs } = context
  const rpcUrl = requireValue(
    options,
    'rpc',
    'RMA_RPC_URL',
    /^https?:\/\//i,
    'an http(s) JSON-RPC URL',
  )
  const wantsContract = need.contract !== false || need.asset === true
  const contractAddress = wantsContract
    ? (requireValue(
        options,
        'contract',
        'RMA_SETTLEMENT_CONTRACT',
        /^0x[0-9a-fA-F]{40}$/,
        'an address (0x and 40 hex digits)',
      ) as Address)
    : (`0x${'00'.repeat(20)}` as Address)
  const assetId = need.asset
    ? (requireValue(
        options,
        'asset',
        'RMA_ASSET_ID',
        /^0x[0-9a-fA-F]{64}$/,
        'a bytes32 (0x and 64 hex digits)',
      ) as Hex)
    : undefined
  const expected = options['chain-id']
  if (expected !== undefined && !/^\d+$/.test(String(expected)))
    throw new CliError({
      code: 'CONFIG',
      shortMessage: '--chain-id or RMA_CHAIN_ID must be a decimal chain id.',
    })

  const chainId = BigInt(await callRpc(rpcUrl, 'eth_chainId', [], timeoutMs))
  if (expected !== undefined && BigInt(String(expected)) !== chainId)
    throw new CliError({
      code: 'WRONG_CHAIN',
      shortMessage: `The RPC at ${redactUrl(rpcUrl)} serves chain ${chainId}, not ${expected}: point RMA_RPC_URL at a node of chain ${expected}, or set RMA_CHAIN_ID=${chainId} if that is the chain you meant.`,
    })
  const provider = createProvider(rpcUrl, chainId, timeoutMs)
  const contract = getSettlementContract(contractAddress, provider)
  const chain: Chain = { rpcUrl, chainId, provider, contractAddress, contract }
  if (!wantsContract) return chain

  const code = await provider.getCode(contractAddress)
  if (code === '0x')
    throw new CliError({
      code: 'NO_CONTRACT',
      shortMessage: `No contract at ${contractAddress} on chain ${chainId}: fix RMA_SETTLEMENT_CONTRACT (or --contract), check that RMA_RPC_URL is the chain it was deployed on, or deploy one with \`rma deploy\`.`,
    })
  if (!assetId) return chain
  let asset: AssetChain['asset']
  try {
    asset = await contract.getAsset(assetId)
  } catch (error) {
    if (
      (error as { code?: string })?.code !== 'CALL_EXCEPTION' &&
      (error as { code?: string })?.code !== 'BAD_DATA'
    )
      throw error
    throw new CliError({
      code: 'NO_CONTRACT',
      shortMessage: `The contract at ${contractAddress} is not an RMASettlement (getAsset fails): fix RMA_SETTLEMENT_CONTRACT (or --contract).`,
      cause: error,
    })
  }
  if (/^0x0{40}$/i.test(String(asset.issuer)))
    throw new CliError({
      code: 'UNKNOWN_ASSET',
      shortMessage: `Asset ${assetId} is not registered on ${contractAddress}: fix RMA_ASSET_ID (or --asset), or register it with \`rma asset register\`.`,
    })
  return { ...chain, assetId, asset }
}

/** ethers' provider for a node already known to answer: fixed network, bounded requests. */
export function createProvider(rpcUrl: string, chainId: bigint, timeoutMs: number) {
  const request = new FetchRequest(rpcUrl)
  request.timeout = timeoutMs
  const network = Network.from(chainId)
  return new JsonRpcProvider(request, network, {
    staticNetwork: network,
    // No response cache: two transactions sent back to back would get the same nonce.
    cacheTimeout: -1,
    batchMaxCount: 1,
    pollingInterval: 250,
  })
}
