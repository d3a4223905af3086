/**
 * The one form of a request path the meter routes on and the proxy forwards, or `undefined`
 * when the path has no single reading and must be refused.
 *
 * Upstreams and frameworks read a path in different ways (`fetch` turns `\` into `/`, some
 * servers decode `%63` to `c` or `%2F` to `/`, matching may ignore case, `.` segments and
 * repeated slashes), so a path the meter reads as unmetered could reach the upstream as a paid
 * route. One reading removes the gap: the query is dropped, the path is percent-decoded once;
 * encoded slashes, backslashes, dots and percent signs (`%2F`, `%5C`, `%2E`, `%25`), raw
 * backslashes, `;` parameters, control characters and a `..` above the root are refused;
 * repeated slashes collapse, `.` and `..` segments resolve, a trailing slash goes, and the
 * result is lower-cased.
 *
 * @example
 * canonicalPath('/v1/CHAT//completions/.?x=1') // '/v1/chat/completions'
 * canonicalPath('/v1/chat/%63ompletions') // '/v1/chat/completions'
 * canonicalPath('/v1/chat%2Fcompletions') // undefined
 */
export function canonicalPath(url: string): string | undefined {
  const query = url.indexOf('?')
  const raw = query === -1 ? url : url.slice(0, query)
  if (raw.includes('#')) return undefined
  if (/%(2f|5c|2e|25)/i.test(raw)) return undefined
  let decoded: string
  try {
    decoded = decodeURIComponent(raw)
  } catch {
    return undefined
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\\;\u0000-\u001f\u007f]/.test(decoded)) return undefined
  const segments: string[] = []
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') {
      if (segments.length === 0) return undefined
      segments.pop()
      continue
    }
    segments.push(segment)
  }
  return `/${segments.join('/')}`.toLowerCase()
}
