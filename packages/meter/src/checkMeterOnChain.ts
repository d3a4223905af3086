import type { Address, Hex } from '@rma/core'
import { Interface } from 'ethers'
import { MeterError } from './errors.js'

export type CheckMeterOnChainParameters = {
  /** JSON-RPC endpoint of the settlement chain. */
  rpcUrl: string
  chainId: bigint
  settlementContract: Address
  assetId: Hex
  meter: Address
  fetch?: typeof fetch
}

const settlement = new Interface([
  'function isMeter(bytes32 assetId, address meter) view returns (bool)',
])

/**
 * Checks, against the chain itself, what the meter signs for: the RPC's chain id is the
 * configured one, the settlement contract has code there, and the meter key is an authorised
 * meter of the asset. Throws {@link MeterError} `rma_meter_misconfigured` naming the value to
 * change; receipts signed otherwise would never settle.
 *
 * @example
 * await checkMeterOnChain({ rpcUrl: 'http://127.0.0.1:8545', chainId: 31337n, settlementContract, assetId, meter })
 */
export async function checkMeterOnChain(parameters: CheckMeterOnChainParameters): Promise<void> {
  const { rpcUrl, chainId, settlementContract, assetId, meter } = parameters
  const doFetch = parameters.fetch ?? fetch
  let id = 0
  const call = async (method: string, params: unknown[]): Promise<string> => {
    let reply: { result?: string; error?: { message?: string } }
    try {
      const res = await doFetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
      })
      reply = (await res.json()) as typeof reply
    } catch (cause) {
      throw misconfigured(
        `The RPC at ${rpcUrl} cannot be reached.`,
        'Check `rpcUrl`, or leave it out to skip the on-chain checks.',
        cause,
      )
    }
    if (typeof reply.result !== 'string')
      throw misconfigured(
        `The RPC at ${rpcUrl} refused ${method}: ${reply.error?.message ?? 'no result'}.`,
      )
    return reply.result
  }
  const actual = BigInt(await call('eth_chainId', []))
  if (actual !== chainId)
    throw misconfigured(
      `The RPC is on chain ${actual} but the meter is configured for chainId ${chainId}.`,
      `Set chainId: ${actual}, or point rpcUrl at chain ${chainId}.`,
    )
  const code = await call('eth_getCode', [settlementContract, 'latest'])
  if (code === '0x' || /^0x0*$/.test(code))
    throw misconfigured(
      `No contract at settlementContract ${settlementContract} on chain ${chainId}.`,
      'Set settlementContract to the address the RMA settlement contract was deployed at.',
    )
  let authorised: boolean
  try {
    const data = settlement.encodeFunctionData('isMeter', [assetId, meter])
    const result = await call('eth_call', [{ to: settlementContract, data }, 'latest'])
    authorised = settlement.decodeFunctionResult('isMeter', result)[0] as boolean
  } catch (error) {
    // Unreachable is unreachable; a refused call or an undecodable answer means another contract.
    if (error instanceof MeterError && error.shortMessage.endsWith('cannot be reached.'))
      throw error
    throw misconfigured(
      `The contract at ${settlementContract} does not answer isMeter(assetId, meter).`,
      'Set settlementContract to the RMA settlement contract.',
      error,
    )
  }
  if (!authorised)
    throw misconfigured(
      `The meter key ${meter} is not an authorised meter of asset ${assetId}.`,
      'Add it with the asset issuer (the asset’s meters on the settlement contract), or configure the meter key that is.',
    )
}

function misconfigured(message: string, details?: string, cause?: unknown): MeterError {
  return new MeterError({
    status: 503,
    type: 'server_error',
    code: 'rma_meter_misconfigured',
    message,
    details,
    cause,
  })
}
