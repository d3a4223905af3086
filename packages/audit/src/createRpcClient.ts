import {
  AuditAbortedError,
  AuditError,
  InvalidAuditOptionsError,
  RpcFailedError,
  RpcTimeoutError,
  RpcUnreachableError,
} from './errors.js'

/** A minimal JSON-RPC client: one POST per request, each bounded by a timeout. */
export type RpcClient = {
  readonly url: string
  request<T = unknown>(method: string, params: readonly unknown[]): Promise<T>
}

export type CreateRpcClientParameters = {
  url: string
  /** Per request (default 15 s). */
  timeoutMs?: number
  /** Aborts every request in flight and every later one. */
  signal?: AbortSignal | undefined
  fetch?: typeof fetch
}

/**
 * A JSON-RPC client over `fetch` whose every request ends: refused connections, silence and
 * JSON-RPC errors become an `AuditError` naming the RPC URL and the fix. ethers' provider is
 * not used here because it retries network detection forever on an unreachable URL.
 *
 * @example
 * const rpc = createRpcClient({ url: 'http://127.0.0.1:8545' })
 * const chainId = BigInt(await rpc.request<string>('eth_chainId', []))
 */
export function createRpcClient(parameters: CreateRpcClientParameters): RpcClient {
  const { url, timeoutMs = 15_000, signal } = parameters
  const doFetch = parameters.fetch ?? fetch
  if (!/^https?:\/\/[^\s]+$/i.test(url))
    throw new InvalidAuditOptionsError({
      shortMessage: `The RPC URL "${url}" is not an http(s) URL: pass the node's JSON-RPC endpoint, e.g. --rpc http://127.0.0.1:8545.`,
    })
  let id = 0
  return {
    url,
    async request<T>(method: string, params: readonly unknown[]): Promise<T> {
      if (signal?.aborted) throw aborted(signal)
      const timeout = AbortSignal.timeout(timeoutMs)
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout
      let body: { result?: T; error?: { code?: number; message?: string; data?: unknown } }
      try {
        const response = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
          signal: combined,
        })
        if (!response.ok) {
          await response.body?.cancel().catch(() => {})
          throw new RpcFailedError({
            shortMessage: `The RPC at ${url} answered HTTP ${response.status} to ${method}: check --rpc points at a JSON-RPC endpoint.`,
          })
        }
        body = (await response.json()) as typeof body
      } catch (error) {
        if (error instanceof AuditError) throw error
        if (signal?.aborted) throw aborted(signal)
        if (timeout.aborted)
          throw new RpcTimeoutError({
            shortMessage: `The RPC at ${url} did not answer ${method} within ${timeoutMs / 1000} s: check --rpc and that the node is up.`,
            cause: error,
          })
        if (error instanceof SyntaxError)
          throw new RpcFailedError({
            shortMessage: `The RPC at ${url} did not answer JSON: check --rpc points at a JSON-RPC endpoint.`,
            cause: error,
          })
        throw new RpcUnreachableError({
          shortMessage: `The RPC at ${url} cannot be reached (${causeOf(error)}): start the node or fix --rpc.`,
          cause: error,
        })
      }
      if (body?.error)
        throw Object.assign(
          new RpcFailedError({
            shortMessage: `The RPC at ${url} refused ${method}: ${body.error.message ?? 'unknown error'}.`,
          }),
          { data: body.error.data },
        )
      if (!body || !('result' in body))
        throw new RpcFailedError({
          shortMessage: `The RPC at ${url} gave no result for ${method}: check --rpc points at a JSON-RPC endpoint.`,
        })
      return body.result as T
    },
  }
}

function aborted(signal: AbortSignal): AuditError {
  return new AuditAbortedError({ shortMessage: 'The audit was aborted.', cause: signal.reason })
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause
  return cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error)
}
