import { type Address, type ChainRef, chainKey, type Hex } from '@rma/core'
import { Interface } from 'ethers'
import { MeterError } from './errors.js'

const settlement = new Interface([
  'function getAsset(bytes32 assetId) view returns (address issuer, address pendingIssuer, address token)',
  'function prepaidBalance(address token, address user) view returns (uint256 balance, uint256 withdrawalRequested, uint64 withdrawableAt)',
  'function settledVoucher(bytes32 assetId, address meter, address user) view returns (uint64 seq, uint256 cumulativeAmount)',
])

export type ReadPrepaidStateParameters = {
  rpcUrl: string
  settlementContract: Address
  token: Address
  user: Address
  /** The user's chains whose settled voucher to read. */
  chains: readonly ChainRef[]
  fetch?: typeof fetch
}

/** A user's prepaid state as of one block. */
export type PrepaidState = {
  block: bigint
  balance: bigint
  withdrawalRequested: bigint
  /** Per `chainKey`: the chain's last settled cumulative amount. */
  settled: Map<string, bigint>
}

/**
 * Reads a user's prepaid balance, its withdrawal request and the settled voucher of each of its
 * chains from the settlement contract, all at one block (a balance read after a settlement but
 * a settled voucher read before it would count that settlement's debits twice, or not at all):
 * `eth_blockNumber`, then one JSON-RPC batch of `eth_call`s at that block. Throws
 * {@link MeterError} 503 `rma_chain_unavailable` when the chain cannot be read.
 *
 * @example
 * const state = await readPrepaidState({ rpcUrl, settlementContract, token, user, chains })
 */
export async function readPrepaidState(
  parameters: ReadPrepaidStateParameters,
): Promise<PrepaidState> {
  const { settlementContract, token, user, chains } = parameters
  const rpc = jsonRpc(parameters.rpcUrl, parameters.fetch ?? fetch)
  const [blockHex] = await rpc([['eth_blockNumber', []]])
  const block = BigInt(blockHex!)
  const at = `0x${block.toString(16)}`
  const call = (data: string) => ['eth_call', [{ to: settlementContract, data }, at]] as const
  const replies = await rpc([
    call(settlement.encodeFunctionData('prepaidBalance', [token, user])),
    ...chains.map((c) =>
      call(settlement.encodeFunctionData('settledVoucher', [c.assetId, c.meter, c.user])),
    ),
  ])
  const [balance, withdrawalRequested] = decode('prepaidBalance', replies[0]!)
  const settled = new Map<string, bigint>()
  chains.forEach((c, i) => {
    settled.set(
      chainKey(c.assetId, c.meter, c.user),
      decode('settledVoucher', replies[i + 1]!)[1] as bigint,
    )
  })
  return {
    block,
    balance: balance as bigint,
    withdrawalRequested: withdrawalRequested as bigint,
    settled,
  }
}

/**
 * The payment token of an asset, as registered on the settlement contract (`getAsset`).
 *
 * @example
 * const token = await readAssetToken({ rpcUrl, settlementContract, assetId })
 */
export async function readAssetToken(parameters: {
  rpcUrl: string
  settlementContract: Address
  assetId: Hex
  fetch?: typeof fetch
}): Promise<Address> {
  const rpc = jsonRpc(parameters.rpcUrl, parameters.fetch ?? fetch)
  const data = settlement.encodeFunctionData('getAsset', [parameters.assetId])
  const [reply] = await rpc([['eth_call', [{ to: parameters.settlementContract, data }, 'latest']]])
  // The asset view is a static tuple: its first three words are issuer, pendingIssuer, token.
  const token = decode('getAsset', reply!.slice(0, 2 + 64 * 3))[2] as string
  return token.toLowerCase() as Address
}

function decode(name: string, data: string): readonly unknown[] {
  try {
    return settlement.decodeFunctionResult(name, data)
  } catch (cause) {
    throw unavailable(`The settlement contract did not answer ${name}.`, cause)
  }
}

type Call = readonly [method: string, params: readonly unknown[]]

/** Sends calls as one JSON-RPC batch; resolves with their results in order. */
function jsonRpc(url: string, doFetch: typeof fetch) {
  return async (calls: readonly Call[]): Promise<string[]> => {
    let replies: { id?: number; result?: unknown; error?: { message?: string } }[]
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(
          calls.map(([method, params], id) => ({ jsonrpc: '2.0', id, method, params })),
        ),
      })
      const body = (await res.json()) as unknown
      replies = Array.isArray(body) ? body : [body as (typeof replies)[number]]
    } catch (cause) {
      throw unavailable(`The RPC at ${url} cannot be reached.`, cause)
    }
    return calls.map(([method], id) => {
      const reply = replies.find((r) => r?.id === id)
      if (typeof reply?.result !== 'string')
        throw unavailable(
          `The RPC at ${url} refused ${method}: ${reply?.error?.message ?? 'no result'}.`,
        )
      return reply.result
    })
  }
}

function unavailable(message: string, cause?: unknown): MeterError {
  return new MeterError({
    status: 503,
    type: 'server_error',
    code: 'rma_chain_unavailable',
    message,
    details: 'Prepaid balances cannot be read, so prepaid calls are refused; retry later.',
    cause,
  })
}
