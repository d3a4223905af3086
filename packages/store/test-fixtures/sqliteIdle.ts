// Child process of the SQLite tests: appends one receipt, prints its id and returns without
// closing the store. The process must exit on its own: an idle writer thread keeps nothing alive.
import type { Address } from '@rma/core'
import { Wallet } from 'ethers'
import { createSqliteStore } from '../src/index.js'
import { receiptSigner, testAssetId } from '../src/testing/receiptSigner.js'

const [path, meterKey, user] = process.argv.slice(2) as [string, string, Address]
const store = createSqliteStore({ path })
const meter = new Wallet(meterKey)
const stored = await store.append({
  assetId: testAssetId,
  id: 'idle-1',
  meter: meter.address as Address,
  user,
  sign: receiptSigner({ meter, user }),
})
process.stdout.write(`${stored.id}\n`)
