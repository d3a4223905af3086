import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Hex, ReceiptStore } from '@rma/core'
import { createPostgresStore, createSqliteStore } from '@rma/store'

/**
 * What the next batches will ask the settler to pay: the sum of the asset's unsettled receipts
 * in the provider's store (`RMA_DB` if the file exists, or `RMA_DATABASE_URL`), read only.
 * `undefined` when no store is configured.
 *
 * @example
 * const needed = await readUnsettledRevenue({ cwd, db: env.RMA_DB, assetId })
 */
export async function readUnsettledRevenue(parameters: {
  cwd: string
  db?: string | undefined
  databaseUrl?: string | undefined
  assetId: Hex
}): Promise<{ revenue: bigint; receipts: number } | undefined> {
  let store: ReceiptStore
  if (parameters.databaseUrl)
    store = createPostgresStore({ connectionString: parameters.databaseUrl })
  else if (parameters.db && existsSync(resolve(parameters.cwd, parameters.db)))
    store = createSqliteStore({ path: resolve(parameters.cwd, parameters.db) })
  else return undefined
  try {
    const unsettled = await store.listUnsettled({ assetId: parameters.assetId, limit: 1_000_000 })
    return {
      revenue: unsettled.reduce((sum, r) => sum + r.receipt.amount, 0n),
      receipts: unsettled.length,
    }
  } finally {
    await store.close().catch(() => {})
  }
}
