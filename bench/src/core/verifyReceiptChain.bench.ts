import { type Address, verifyReceipt, verifyReceiptChain } from '@rma/core'
import { Wallet } from 'ethers'
import { benchDomain } from '../fixtures/benchDomain.js'
import { createRandom } from '../fixtures/createRandom.js'
import { createReceiptChains } from '../fixtures/createReceiptChains.js'
import { compareThroughput } from '../lib/compareThroughput.js'
import { defineBench } from '../lib/defineBench.js'
import { ratioFigure } from '../lib/ratioFigure.js'

const chainLength = 100

/**
 * Receipts verified per second: `verifyReceiptChain` (every hash and link, one signature per
 * chain head) over a whole settlement set against naive verification, one `verifyReceipt`
 * (hash + ecrecover) per receipt, timed on a sample because recovering every receipt of the
 * full set would take minutes. Every fixture receipt carries its own valid meter signature.
 */
export default defineBench(async ({ quick, log }) => {
  const domain = benchDomain
  const random = createRandom(3)
  const meter = new Wallet(random.hex(32))
  const chains = quick ? 200 : 1_000
  const sampleSize = quick ? 500 : 2_000

  const started = performance.now()
  const receipts = await createReceiptChains({
    random,
    meter,
    domain,
    chains,
    length: chainLength,
    onProgress: (signed, total) => log(`signed ${signed} / ${total} fixture receipts`),
  })
  const fixtureSeconds = Math.round((performance.now() - started) / 100) / 10
  log(`fixture: ${receipts.length} signed receipts in ${fixtureSeconds} s`)

  const meters = [meter.address as Address]
  const check = verifyReceiptChain(receipts, meters, { domain })
  if (!check.valid || check.chains.length !== chains)
    throw new Error(
      `fixture is not a valid chain set: ${check.chains.length} chains, issues ${JSON.stringify(check.issues.slice(0, 3))}`,
    )
  // Spread the sample over the whole set (and so over every chain).
  const step = Math.floor(receipts.length / sampleSize)
  const sample = Array.from({ length: sampleSize }, (_, i) => receipts[i * step]!)
  if (!sample.every((receipt) => verifyReceipt({ receipt, domain })))
    throw new Error('a sampled fixture receipt does not verify')

  let b = 0
  const stats = await compareThroughput(
    {
      candidate: {
        task: () => verifyReceiptChain(receipts, meters, { domain }),
        opsPerCall: receipts.length,
      },
      baseline: () => verifyReceipt({ receipt: sample[b++ % sampleSize]!, domain }),
    },
    { rounds: 5, minTimeMs: quick ? 500 : 2_000, warmupMs: quick ? 500 : 1_000 },
  )
  return [
    ratioFigure({
      name: 'receipts verified per second (chains of 100)',
      candidate: stats.candidate,
      baseline: stats.baseline,
      baselineLabel: `naive verifyReceipt (hash + ecrecover) per receipt on ${sampleSize} of them`,
      opName: 'receipts',
      target: 20,
      detail: {
        receipts: receipts.length,
        chains,
        chainLength,
        naiveSample: sampleSize,
        fixtureSeconds,
      },
    }),
  ]
})
