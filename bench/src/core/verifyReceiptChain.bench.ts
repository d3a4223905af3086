import { createRequire } from 'node:module'
import {
  type Address,
  hashReceipt,
  type SignedUsageReceipt,
  signatureBackend,
  verifyReceipt,
  verifyReceiptChain,
} from '@rma/core'
import { version as ethersVersion, recoverAddress, Wallet } from 'ethers'
import { benchDomain } from '../fixtures/benchDomain.js'
import { createRandom } from '../fixtures/createRandom.js'
import { createReceiptChains } from '../fixtures/createReceiptChains.js'
import { compareThroughput } from '../lib/compareThroughput.js'
import { defineBench } from '../lib/defineBench.js'
import { packageVersion } from '../lib/packageVersion.js'
import { ratioFigure } from '../lib/ratioFigure.js'

const chainLength = 100

/**
 * Receipts verified per second: `verifyReceiptChain` (every hash and link, one signature per
 * chain head) over a whole settlement set against naive verification, hash + ecrecover per
 * receipt, timed on a sample because recovering every receipt of the full set would take
 * minutes. Two naive baselines, measured in the same rounds, give two figures:
 *
 * - ethers' `recoverAddress` per receipt (noble, pure JS): the naive verifier the design's
 *   anchor (~750 receipts/s/core) describes, and what `verifyReceipt` was before @rma/core
 *   recovered natively. The target (20x) is against this one.
 * - `verifyReceipt` per receipt, which recovers with the same backend as `verifyReceiptChain`
 *   (libsecp256k1 where the optional `secp256k1` binding loads): what the chain structure
 *   alone is worth, informational.
 *
 * Every fixture receipt carries its own valid meter signature.
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
  if (!sample.every((receipt) => verifyWithEthers(receipt, domain)))
    throw new Error('a sampled fixture receipt does not verify with ethers')

  let e = 0
  let b = 0
  const backend = signatureBackend()
  const stats = await compareThroughput(
    {
      candidate: {
        task: () => verifyReceiptChain(receipts, meters, { domain }),
        opsPerCall: receipts.length,
      },
      ethersBaseline: () => verifyWithEthers(sample[e++ % sampleSize]!, domain),
      baseline: () => verifyReceipt({ receipt: sample[b++ % sampleSize]!, domain }),
    },
    { rounds: 5, minTimeMs: quick ? 500 : 2_000, warmupMs: quick ? 500 : 1_000 },
  )
  const detail = {
    receipts: receipts.length,
    chains,
    chainLength,
    naiveSample: sampleSize,
    fixtureSeconds,
    signatureBackend: backend,
  }
  const recovery =
    backend === 'native' ? `${nativeLabel()} recovery` : 'ethers recovery (no native binding)'
  return [
    ratioFigure({
      name: 'receipts verified per second (chains of 100, vs ethers ecrecover)',
      candidate: stats.candidate,
      baseline: stats.ethersBaseline,
      baselineLabel: `naive hashReceipt + ethers ${ethersVersion} recoverAddress per receipt on ${sampleSize} of them`,
      opName: 'receipts',
      target: 20,
      detail,
    }),
    ratioFigure({
      name: 'receipts verified per second (chains of 100, vs same recovery)',
      candidate: stats.candidate,
      baseline: stats.baseline,
      baselineLabel: `naive verifyReceipt per receipt on ${sampleSize} of them, ${recovery} as the candidate`,
      opName: 'receipts',
      target: null,
      detail,
    }),
  ]
})

/** `verifyReceipt` as it was before native recovery: ethers' pure-JS `recoverAddress`. */
function verifyWithEthers(receipt: SignedUsageReceipt, domain: typeof benchDomain): boolean {
  const digest = hashReceipt(receipt, domain)
  return recoverAddress(digest, receipt.signature).toLowerCase() === receipt.meter.toLowerCase()
}

/** The `secp256k1` package @rma/core loads, with its version. */
function nativeLabel(): string {
  const core = createRequire(import.meta.resolve('@rma/core'))
  return `secp256k1 ${packageVersion('secp256k1', core.resolve('secp256k1/bindings.js'))} (libsecp256k1)`
}
