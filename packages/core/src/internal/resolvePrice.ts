import type { ModelPrice, PriceTable, PriceVersion } from '../createPriceTable.js'

/** `-2024-08-06` (OpenAI snapshots) or `-0613` (older ones). */
export const snapshotSuffix = /-(\d{4}-\d{2}-\d{2}|\d{4})$/

/** A model name without its snapshot suffix (unchanged when it has none). */
export function snapshotBase(model: string): string {
  return model.replace(snapshotSuffix, '')
}

/** The price versions of a priced name or alias. */
export function versionsOf(table: PriceTable, name: string): readonly PriceVersion[] | undefined {
  return table.models.get(name) ?? table.models.get(table.aliases.get(name) ?? '')
}

/** The version of a list in force at `at` (the latest `effectiveFrom` ≤ `at`). */
export function versionAt(
  versions: readonly PriceVersion[] | undefined,
  at: number,
): PriceVersion | undefined {
  let current: PriceVersion | undefined
  for (const version of versions ?? []) if (version.effectiveFrom <= at) current = version
  return current
}

/**
 * The one resolution rule of a model name: exact name or alias, else the name with its snapshot
 * suffix removed (exact or alias); then the version in force at `at`. Returns the name that
 * matched (the price-table leaf that prices it) and the price, or undefined.
 */
export function resolvePrice(
  table: PriceTable,
  model: string,
  at: number,
): { name: string; price: ModelPrice } | undefined {
  let name = model
  let versions = versionsOf(table, model)
  if (!versions) {
    name = snapshotBase(model)
    versions = versionsOf(table, name)
  }
  const current = versionAt(versions, at)
  if (!current) return undefined
  const { effectiveFrom: _, ...price } = current
  return { name, price }
}
