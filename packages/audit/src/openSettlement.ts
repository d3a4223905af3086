import { rmaSettlementAbi } from '@rma/contracts'
import type { Address, Hex } from '@rma/core'
import { Interface, type LogDescription, type Result } from 'ethers'
import { createRpcClient, type RpcClient } from './createRpcClient.js'
import {
  AuditError,
  InvalidAuditOptionsError,
  NoContractError,
  NotSettlementContractError,
  RpcFailedError,
  UnregisteredAssetError,
  WrongChainError,
} from './errors.js'

/** Where to read one asset: the options every reader of `@rma/audit` takes. */
export type ChainParameters = {
  /** The chain's JSON-RPC endpoint (http or https). */
  rpcUrl: string
  /** The RMASettlement contract. */
  contract: string
  assetId: string
  /** When given, a node serving another chain is refused (`WRONG_CHAIN`). */
  chainId?: number | bigint
  /** The first block to read events from (default 0; set it to the deployment block on long chains). */
  fromBlock?: number
  /** Per JSON-RPC request (default 15 s). */
  rpcTimeoutMs?: number
  signal?: AbortSignal
}

/** One event of the asset, decoded, with where it happened. */
export type AssetEvent = {
  name: string
  args: Result
  blockNumber: number
  logIndex: number
  transactionHash: Hex
}

/** Reads one asset at one pinned block, so views and events agree. */
export type SettlementReader = {
  rpc: RpcClient
  chainId: number
  contract: Address
  assetId: Hex
  /** Every read is made at this block. */
  block: number
  /** `getAsset` at the pinned block. */
  asset: Result
  view(name: string, args: readonly unknown[]): Promise<Result>
  /** Every event of the asset (topic 1 = assetId) from `fromBlock` to the pinned block, in order. */
  events(): Promise<AssetEvent[]>
  blockTimestamp(block: number): Promise<number>
  /** A transaction's input and the contract's decoded logs (a prepaid settlement's vouchers and their events). */
  transaction(hash: Hex): Promise<SettlementTransaction>
}

/** One transaction to the contract: its sender, target and calldata, and the contract's decoded logs in order. */
export type SettlementTransaction = {
  from: Address
  to: Address | null
  input: Hex
  logs: AssetEvent[]
}

const abi = new Interface(rmaSettlementAbi)

/** Events whose first indexed argument is the asset id. */
const assetEvents = [
  'AssetRegistered',
  'MeterSet',
  'SettlerSet',
  'IssuerTransferred',
  'Staked',
  'UnstakeRequested',
  'Withdrawn',
  'RewardsClaimed',
  'Settled',
  'SupportersShareHeld',
  'RebateClaimed',
  'IssuerClaimed',
  'ProtocolClaimed',
  'PrepaidSettled',
] as const

/**
 * Connects to the chain and checks, in order, what a wrong setting would break: the node
 * answers, it serves the expected chain, the address holds code, the code is RMASettlement,
 * the asset is registered. Each failure is an `AuditError` naming the fix.
 *
 * @example
 * const reader = await openSettlement({ rpcUrl, contract, assetId })
 * const settled = (await reader.events()).filter((e) => e.name === 'Settled')
 */
export async function openSettlement(parameters: ChainParameters): Promise<SettlementReader> {
  const { rpcUrl, signal } = parameters
  if (!/^0x[0-9a-fA-F]{40}$/.test(parameters.contract ?? ''))
    throw new InvalidAuditOptionsError({
      shortMessage: `The contract "${parameters.contract}" is not an address: pass the RMASettlement address (0x and 40 hex digits).`,
    })
  if (!/^0x[0-9a-fA-F]{64}$/.test(parameters.assetId ?? ''))
    throw new InvalidAuditOptionsError({
      shortMessage: `The asset id "${parameters.assetId}" is not a bytes32: pass the asset's id (0x and 64 hex digits).`,
    })
  const contract = parameters.contract.toLowerCase() as Address
  const assetId = parameters.assetId.toLowerCase() as Hex
  const rpc = createRpcClient({ url: rpcUrl, timeoutMs: parameters.rpcTimeoutMs, signal })

  const chainId = Number(BigInt(await rpc.request<string>('eth_chainId', [])))
  if (parameters.chainId !== undefined && BigInt(parameters.chainId) !== BigInt(chainId))
    throw new WrongChainError({
      shortMessage: `The RPC at ${rpcUrl} serves chain ${chainId}, not chain ${parameters.chainId}: point --rpc at a node of chain ${parameters.chainId} or fix the chain id.`,
    })
  const blockTag = await rpc.request<string>('eth_blockNumber', [])
  const block = Number(BigInt(blockTag))
  const code = await rpc.request<string>('eth_getCode', [contract, blockTag])
  if (!code || code === '0x')
    throw new NoContractError({
      shortMessage: `No contract is deployed at ${contract} on chain ${chainId}: check the contract address and that --rpc is the chain it was deployed on.`,
    })

  const view = async (name: string, args: readonly unknown[]): Promise<Result> => {
    const data = abi.encodeFunctionData(name, args)
    const out = await rpc.request<string>('eth_call', [{ to: contract, data }, blockTag])
    return abi.decodeFunctionResult(name, out)
  }

  let asset: Result
  try {
    asset = (await view('getAsset', [assetId]))[0] as Result
  } catch (error) {
    if (error instanceof AuditError && error.code !== 'RPC_ERROR') throw error
    throw new NotSettlementContractError({
      shortMessage: `The contract at ${contract} does not answer getAsset as RMASettlement does: check the contract address.`,
      cause: error,
    })
  }
  if (/^0x0{40}$/i.test(String(asset.issuer)))
    throw new UnregisteredAssetError({
      shortMessage: `Asset ${assetId} is not registered on ${contract}: check the asset id, or register it first (rma asset register).`,
    })

  const timestamps = new Map<number, Promise<number>>()
  return {
    rpc,
    chainId,
    contract,
    assetId,
    block,
    asset,
    view,
    async events() {
      const topics = assetEvents.map((name) => abi.getEvent(name)!.topicHash)
      const logs = await rpc.request<RawLog[]>('eth_getLogs', [
        {
          address: contract,
          fromBlock: `0x${(parameters.fromBlock ?? 0).toString(16)}`,
          toBlock: blockTag,
          topics: [topics, assetId],
        },
      ])
      const out = logs.map(decodeLog).filter((e): e is AssetEvent => e !== null)
      return out.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex)
    },
    async transaction(hash: Hex) {
      const [tx, receipt] = await Promise.all([
        rpc.request<{ from: string; to: string | null; input: string }>(
          'eth_getTransactionByHash',
          [hash],
        ),
        rpc.request<{ logs: (RawLog & { address: string })[] }>('eth_getTransactionReceipt', [
          hash,
        ]),
      ])
      if (!tx || !receipt)
        throw new RpcFailedError({
          shortMessage: `The RPC at ${rpcUrl} does not return transaction ${hash} (a prepaid settlement): use a node that serves old transactions and receipts (an archive or full node).`,
        })
      const logs = receipt.logs
        .filter((log) => log.address.toLowerCase() === contract)
        .map(decodeLog)
        .filter((e): e is AssetEvent => e !== null)
      return {
        from: tx.from.toLowerCase() as Address,
        to: tx.to ? (tx.to.toLowerCase() as Address) : null,
        input: tx.input.toLowerCase() as Hex,
        logs: logs.sort((a, b) => a.logIndex - b.logIndex),
      }
    },
    blockTimestamp(n: number) {
      let t = timestamps.get(n)
      if (!t) {
        t = rpc
          .request<{ timestamp: string }>('eth_getBlockByNumber', [`0x${n.toString(16)}`, false])
          .then((b) => Number(BigInt(b.timestamp)))
        timestamps.set(n, t)
        t.catch(() => timestamps.delete(n))
      }
      return t
    },
  }
}

/** A log of the contract, decoded by its ABI (null: not one of its events). */
function decodeLog(log: RawLog): AssetEvent | null {
  let parsed: LogDescription | null = null
  try {
    parsed = abi.parseLog({ topics: log.topics, data: log.data })
  } catch {
    return null
  }
  if (!parsed) return null
  return {
    name: parsed.name,
    args: parsed.args,
    blockNumber: Number(BigInt(log.blockNumber)),
    logIndex: Number(BigInt(log.logIndex)),
    transactionHash: log.transactionHash.toLowerCase() as Hex,
  }
}

type RawLog = {
  topics: string[]
  data: string
  blockNumber: string
  logIndex: string
  transactionHash: string
}
