// Child process of the PostgreSQL cross-process tests: opens the store (migrating the schema,
// possibly while another process does the same), runs `count` concurrent appends for one user
// and prints each stored receipt's id.
import type { Address } from '@rma/core'
import { Wallet } from 'ethers'
import { createPostgresStore } from '../src/index.js'
import { receiptSigner, testAssetId } from '../src/testing/receiptSigner.js'

const [connectionString, schema, meterKey, user, count, prefix] = process.argv.slice(2) as [
  string,
  string,
  string,
  Address,
  string,
  string,
]
const store = createPostgresStore({ connectionString, schema })
const meter = new Wallet(meterKey)
await Promise.all(
  Array.from({ length: Number(count) }, async (_, i) => {
    const stored = await store.append({
      assetId: testAssetId,
      id: `${prefix}-${i}`,
      meter: meter.address as Address,
      user,
      sign: receiptSigner({ meter, user }),
    })
    process.stdout.write(`${stored.id}\n`)
  }),
)
await store.close()
