/**
 * The exact body bytes the fake upstream at `upstream` answers `body` with when called directly
 * with the provider's key: what a metered call must deliver unchanged.
 *
 * @example
 * const expected = await upstreamBytes(context.openai.upstream.url, '/v1/chat/completions', body)
 */
export async function upstreamBytes(
  upstream: string,
  path: string,
  body: string,
): Promise<Uint8Array> {
  const res = await fetch(`${upstream}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: 'Bearer sk-upstream',
      'x-api-key': 'sk-upstream',
      'anthropic-version': '2023-06-01',
    },
    body,
  })
  return new Uint8Array(await res.arrayBuffer())
}
