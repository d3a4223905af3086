import type { Catalog, CatalogMatch, CatalogModel, CatalogProvider } from './Catalog.js'
import { catalog as bundled } from './catalog.generated.js'
import { matchesCatalogName } from './matchesCatalogName.js'

export type FindCatalogModelParameters = {
  /** A model name as an upstream reports it (`claude-sonnet-4-20250514`). */
  name: string
  /** Catalog provider ids to search, in order; the first whose catalog matches wins. */
  providers: readonly string[]
  /** Defaults to the bundled snapshot. */
  catalog?: Catalog
}

export type FindCatalogModelReturnType =
  | { provider: CatalogProvider; model: CatalogModel }
  | undefined

/** `-20250514` → `-2025-05-14` (a valid date only), the source's second try for a name. */
const compactDate = /-(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)/g

/**
 * The catalog model that prices `name`, resolved as the source resolves it within one provider:
 * its own models first (the first whose match rule matches wins), then the models of its
 * fallback providers; the name is lower-cased and trimmed, and when nothing matches, a compact
 * snapshot date (`-20250514`) is retried in dashed form (`-2025-05-14`). Providers are tried in
 * the order given; the first that prices the name wins. Returns
 * `undefined` when no selected provider prices the name.
 *
 * @example
 * findCatalogModel({ name: 'claude-sonnet-4-20250514', providers: ['anthropic'] })?.model.id // 'claude-sonnet-4-0'
 */
export function findCatalogModel({
  name,
  providers,
  catalog = bundled,
}: FindCatalogModelParameters): FindCatalogModelReturnType {
  const index = indexOf(catalog)
  const normal = name.toLowerCase().trim()
  const dashed = normal.replace(compactDate, (whole, y: string, m: string, d: string) => {
    const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)))
    return date.getUTCDate() === Number(d) ? `-${y}-${m}-${d}` : whole
  })
  for (const id of providers) {
    const provider = index.get(id)
    if (!provider) continue
    for (const candidate of dashed === normal ? [normal] : [normal, dashed]) {
      const own = firstMatch(provider, candidate)
      if (own) return { provider: provider.provider, model: own }
      for (const fallback of provider.provider.fallbackProviders ?? []) {
        const other = index.get(fallback)
        const model = other && firstMatch(other, candidate)
        if (model) return { provider: provider.provider, model }
      }
    }
  }
  return undefined
}

/**
 * A provider's models, split for speed without changing the answer: most rules only list exact
 * names, so the first model naming `name` exactly is found by map, and only the pattern rules
 * listed before it still need testing.
 */
type ProviderIndex = {
  provider: CatalogProvider
  exact: Map<string, number>
  patterns: { at: number; model: CatalogModel }[]
}

const indexes = new WeakMap<Catalog, Map<string, ProviderIndex>>()

function indexOf(catalog: Catalog): Map<string, ProviderIndex> {
  let index = indexes.get(catalog)
  if (index) return index
  index = new Map()
  for (const provider of catalog.providers) {
    const exact = new Map<string, number>()
    const patterns: ProviderIndex['patterns'] = []
    provider.models.forEach((model, at) => {
      const names = exactOnly(model.match)
      if (!names) patterns.push({ at, model })
      else for (const n of names) if (!exact.has(n.toLowerCase())) exact.set(n.toLowerCase(), at)
    })
    index.set(provider.id, { provider, exact, patterns })
  }
  indexes.set(catalog, index)
  return index
}

/** The names a rule matches when it is only exact names (`equals`, or an `or` of them). */
function exactOnly(match: CatalogMatch): string[] | undefined {
  if ('equals' in match) return [match.equals]
  if (!('or' in match)) return undefined
  const names: string[] = []
  for (const m of match.or) {
    const inner = exactOnly(m)
    if (!inner) return undefined
    names.push(...inner)
  }
  return names
}

function firstMatch(index: ProviderIndex, name: string): CatalogModel | undefined {
  const at = index.exact.get(name) ?? Number.POSITIVE_INFINITY
  for (const pattern of index.patterns) {
    if (pattern.at > at) break
    if (matchesCatalogName(pattern.model.match, name)) return pattern.model
  }
  return index.provider.models[at]
}
