// Child process of the SQLite crash test: appends forever with 8 concurrent callers over two
// users and prints each receipt id as soon as its append resolves, until it is killed.
import type { Address } from '@rma/core'
import { Wallet } from 'ethers'
import { createSqliteStore } from '../src/index.js'
import { receiptSigner, testAssetId } from '../src/testing/receiptSigner.js'

const [path, meterKey, ...users] = process.argv.slice(2) as [string, string, ...Address[]]
const store = createSqliteStore({ path })
const meter = new Wallet(meterKey)
let next = 0

async function appendForever(user: Address): Promise<never> {
  for (;;) {
    const id = `crash-${next++}`
    await store.append({
      assetId: testAssetId,
      id,
      meter: meter.address as Address,
      user,
      sign: receiptSigner({ meter, user }),
    })
    // stdout is a pipe, written synchronously on Linux: a printed id reached the parent.
    process.stdout.write(`${id}\n`)
  }
}

for (let i = 0; i < 8; i++) void appendForever(users[i % users.length]!)
