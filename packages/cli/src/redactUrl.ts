/**
 * A URL as printed: scheme, host and port only, since RPC providers put API keys in the path
 * or the query (`https://eth-mainnet.g.alchemy.com/v2/<key>` prints as `https://eth-mainnet.g.alchemy.com/…`).
 *
 * @example
 * redactUrl('https://mainnet.infura.io/v3/secret') // 'https://mainnet.infura.io/…'
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    const hidden = parsed.pathname.length > 1 || parsed.search !== '' || parsed.username !== ''
    return `${parsed.protocol}//${parsed.host}${hidden ? '/…' : ''}`
  } catch {
    return 'the configured URL'
  }
}
