import type { CatalogMatch } from './Catalog.js'

const regexes = new Map<string, RegExp>()

/**
 * Whether a catalog match rule matches a model name, with the source's semantics: `equals`,
 * `starts_with`, `ends_with` and `contains` compare case-insensitively; `regex` is tested as
 * written against the name (the source lower-cases names first, see `findCatalogModel`).
 *
 * @example
 * matchesCatalogName({ or: [{ equals: 'gpt-4o' }, { starts_with: 'gpt-4o-2024-' }] }, 'gpt-4o-2024-08-06') // true
 */
export function matchesCatalogName(match: CatalogMatch, name: string): boolean {
  if ('or' in match) return match.or.some((m) => matchesCatalogName(m, name))
  if ('and' in match) return match.and.every((m) => matchesCatalogName(m, name))
  if ('equals' in match) return name.toLowerCase() === match.equals.toLowerCase()
  if ('starts_with' in match) return name.toLowerCase().startsWith(match.starts_with.toLowerCase())
  if ('ends_with' in match) return name.toLowerCase().endsWith(match.ends_with.toLowerCase())
  if ('contains' in match) return name.toLowerCase().includes(match.contains.toLowerCase())
  let regex = regexes.get(match.regex)
  if (!regex) {
    regex = new RegExp(match.regex)
    regexes.set(match.regex, regex)
  }
  return regex.test(name)
}
