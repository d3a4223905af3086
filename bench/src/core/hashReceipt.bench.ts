import { hashReceipt, typedDataTypes, typedDataValue, usageReceiptSchema } from '@rma/core'
import { version as ethersVersion, TypedDataEncoder } from 'ethers'
import { benchDomain } from '../fixtures/benchDomain.js'
import { createRandom } from '../fixtures/createRandom.js'
import { randomReceipts } from '../fixtures/randomReceipts.js'
import { compareThroughput } from '../lib/compareThroughput.js'
import { defineBench } from '../lib/defineBench.js'
import { ratioFigure } from '../lib/ratioFigure.js'

/**
 * Receipts hashed per second: the compiled EIP-712 hasher of @rma/core against ethers' generic
 * `TypedDataEncoder`, on the same varied receipts. The baseline gets its types and EIP-712
 * values prepared up front, so only ethers' encoder and hashing are timed.
 */
export default defineBench(async ({ quick, log }) => {
  const domain = benchDomain
  const random = createRandom(1)
  const receipts = randomReceipts(random, quick ? 2_000 : 10_000, random.hex(20))
  const types = typedDataTypes(usageReceiptSchema)
  const values = receipts.map((receipt) => typedDataValue(usageReceiptSchema, receipt))

  for (let i = 0; i < receipts.length; i++) {
    const fast = hashReceipt(receipts[i]!, domain)
    const reference = TypedDataEncoder.hash(domain, types, values[i]!)
    if (fast !== reference)
      throw new Error(`hash mismatch on receipt ${i}: ${fast} != ${reference}`)
  }
  log(`${receipts.length} receipts hash identically on both sides`)

  let c = 0
  let b = 0
  const stats = await compareThroughput(
    {
      candidate: () => hashReceipt(receipts[c++ % receipts.length]!, domain),
      baseline: () => TypedDataEncoder.hash(domain, types, values[b++ % values.length]!),
    },
    { rounds: quick ? 9 : 15, minTimeMs: quick ? 200 : 500, warmupMs: quick ? 300 : 1_000 },
  )
  return [
    ratioFigure({
      name: 'receipts hashed per second',
      candidate: stats.candidate,
      baseline: stats.baseline,
      baselineLabel: `ethers ${ethersVersion} TypedDataEncoder.hash`,
      opName: 'receipts',
      target: 10,
      detail: { receipts: receipts.length },
    }),
  ]
})
