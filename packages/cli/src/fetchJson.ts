import { CliError } from './CliError.js'

/**
 * GETs JSON from a provider with a hard timeout; every failure is one line naming the URL,
 * the cause and the fix. `notFound` is the message for a 404 (a `REFUSED`: nothing to do).
 *
 * @example
 * const health = await fetchJson(`${provider}/rma/health`, 10_000)
 */
export async function fetchJson<T>(
  url: string,
  timeoutMs: number,
  options: { notFound?: string; acceptStatus?: number[] } = {},
): Promise<T> {
  let response: Response
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' })
  } catch (error) {
    if ((error as Error)?.name === 'TimeoutError')
      throw new CliError({
        code: 'TIMEOUT',
        shortMessage: `${url} did not answer within ${timeoutMs / 1000} s: check that the server is up, or raise --timeout.`,
        cause: error,
      })
    const reason = (error as { cause?: { code?: string } })?.cause?.code ?? 'no answer'
    throw new CliError({
      code: 'UNREACHABLE',
      shortMessage: `Cannot reach ${url} (${reason}): check that the server is up and the URL.`,
      cause: error,
    })
  }
  if (response.status === 404 && options.notFound) {
    await response.body?.cancel().catch(() => {})
    throw new CliError({
      code: 'REFUSED',
      shortMessage: options.notFound.replace(/^./, (c) => c.toUpperCase()),
    })
  }
  if (!response.ok && !options.acceptStatus?.includes(response.status)) {
    await response.body?.cancel().catch(() => {})
    throw new CliError({
      code: 'UNREACHABLE',
      shortMessage: `${url} answered HTTP ${response.status}: check the URL and the server's logs.`,
    })
  }
  try {
    return (await response.json()) as T
  } catch (error) {
    throw new CliError({
      code: 'UNREACHABLE',
      shortMessage: `${url} did not answer JSON: check the URL (it must be the provider's).`,
      cause: error,
    })
  }
}
