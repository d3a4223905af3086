/**
 * The catalog snapshot's shape: `src/catalog.generated.ts` holds one {@link Catalog}, written
 * by `pnpm --filter @rma/prices generate` from `@pydantic/genai-prices` and committed.
 */

/** How the source matches a model name (case-insensitive except `regex`), kept verbatim. */
export type CatalogMatch =
  | { equals: string }
  | { starts_with: string }
  | { ends_with: string }
  | { contains: string }
  | { regex: string }
  | { or: readonly CatalogMatch[] }
  | { and: readonly CatalogMatch[] }

/**
 * A price in US dollars per 1,000,000 tokens: a decimal string exactly as the source gives it,
 * or a price tiered by the call's input tokens (`price` applies above `start` input tokens).
 */
export type CatalogPrice =
  | string
  | { base: string; tiers: readonly { start: number; price: string }[] }

/** The token price kinds the snapshot keeps, under the source's own names. */
export type CatalogPriceKind =
  | 'input_mtok'
  | 'cache_read_mtok'
  | 'cache_write_mtok'
  | 'output_mtok'
  | 'output_reasoning_mtok'

export type CatalogPrices = { readonly [K in CatalogPriceKind]?: CatalogPrice }

/** When a conditional price applies: from a date on (UTC), or daily between two UTC times. */
export type CatalogConstraint =
  | { type: 'start_date'; start_date: string }
  | { type: 'time_of_date'; start_time: string; end_time: string }

/** One price of a model; the first has no constraint, later ones apply under theirs. */
export type CatalogPriceEntry = { constraint?: CatalogConstraint; prices: CatalogPrices }

export type CatalogModel = {
  /** The source's id of the model (its canonical name). */
  id: string
  name?: string
  /** The source's match rule, verbatim. */
  match: CatalogMatch
  /** Names the rule matches exactly (`equals`), other than `id`: aliases and snapshot names. */
  aliases: readonly string[]
  deprecated?: boolean
  prices: readonly CatalogPriceEntry[]
  /** Price kinds the source has for this model that are not token prices (not priced here). */
  otherKinds?: readonly string[]
}

export type CatalogProvider = {
  id: string
  name: string
  /** Providers whose models this one also serves at their prices when none of its own match. */
  fallbackProviders?: readonly string[]
  models: readonly CatalogModel[]
}

export type Catalog = {
  source: { package: string; version: string; generatedAt: string }
  providers: readonly CatalogProvider[]
}
