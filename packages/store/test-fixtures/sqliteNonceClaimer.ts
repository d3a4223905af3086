// Child process of the SQLite nonce test: claims fresh nonces forever with 8 concurrent callers
// and prints each nonce as soon as its claim resolves true, until it is killed.
import type { Address } from '@rma/core'
import { createSqliteStore } from '../src/index.js'
import { testAssetId } from '../src/testing/receiptSigner.js'

const [path, user] = process.argv.slice(2) as [string, Address]
const store = createSqliteStore({ path })
const keepUntil = Math.floor(Date.now() / 1000) + 3600
let next = 0n

async function claimForever(): Promise<never> {
  for (;;) {
    const nonce = next++
    if (await store.claimNonce({ assetId: testAssetId, user, nonce, keepUntil }))
      // stdout is a pipe, written synchronously on Linux: a printed nonce reached the parent.
      process.stdout.write(`${nonce}\n`)
  }
}

for (let i = 0; i < 8; i++) void claimForever()
