import { CliError } from './CliError.js'
import { redactUrl } from './redactUrl.js'

/**
 * One JSON-RPC call with a hard timeout and no retry, for the first contact with a node:
 * ethers' provider retries an unreachable node forever, this fails in `timeoutMs` with one
 * line naming the cause and the fix.
 *
 * @example
 * const chainId = BigInt(await callRpc(rpcUrl, 'eth_chainId', [], 10_000))
 */
export async function callRpc<T = string>(
  url: string,
  method: string,
  params: unknown[],
  timeoutMs: number,
): Promise<T> {
  const where = redactUrl(url)
  let response: Response
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (error) {
    if ((error as Error)?.name === 'TimeoutError')
      throw new CliError({
        code: 'TIMEOUT',
        shortMessage: `The RPC at ${where} did not answer within ${timeoutMs / 1000} s: check that the node is up and RMA_RPC_URL (or --rpc), or raise --timeout.`,
        cause: error,
      })
    const reason = (error as { cause?: { code?: string } })?.cause?.code ?? 'no answer'
    throw new CliError({
      code: 'UNREACHABLE',
      shortMessage: `Cannot reach the RPC at ${where} (${reason}): start the node or fix RMA_RPC_URL (or --rpc).`,
      cause: error,
    })
  }
  let body: { result?: T; error?: { message?: string } }
  try {
    body = (await response.json()) as typeof body
  } catch (error) {
    throw new CliError({
      code: 'UNREACHABLE',
      shortMessage: `The RPC at ${where} answered HTTP ${response.status} without JSON-RPC: RMA_RPC_URL (or --rpc) must be a JSON-RPC endpoint.`,
      cause: error,
    })
  }
  if (body.error || body.result === undefined)
    throw new CliError({
      code: 'UNREACHABLE',
      shortMessage: `The RPC at ${where} refused ${method} (${String(body.error?.message ?? 'no result').slice(0, 120)}): check RMA_RPC_URL (or --rpc).`,
    })
  return body.result
}
