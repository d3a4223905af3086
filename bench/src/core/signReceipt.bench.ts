import { createRequire } from 'node:module'
import { secp256k1 } from '@noble/curves/secp256k1'
import { type Address, hashReceipt, signatureBackend, signReceipt } from '@rma/core'
import { version as ethersVersion, getBytes, Wallet } from 'ethers'
import { secp256k1 as secp256k1OfEthers } from 'noble-curves-of-ethers/secp256k1'
import { benchDomain } from '../fixtures/benchDomain.js'
import { createRandom } from '../fixtures/createRandom.js'
import { randomReceipts } from '../fixtures/randomReceipts.js'
import { compareThroughput } from '../lib/compareThroughput.js'
import { defineBench } from '../lib/defineBench.js'
import { packageVersion } from '../lib/packageVersion.js'
import { ratioFigure } from '../lib/ratioFigure.js'
import { ratioOf } from '../lib/ratioOf.js'
import { rawSign } from '../lib/rawSign.js'

/**
 * Receipts signed per second: `signReceipt` with an ethers Wallet (hash, then sign the digest
 * with the wallet's key) against the raw curve operation of the same backend on precomputed
 * digests, the floor no signer can beat: libsecp256k1's `ecdsaSign` where @rma/core signs with
 * it (`signatureBackend()` is 'native'), else @noble/curves. The pure-JS raw signs (@noble/curves
 * and the version ethers bundles) are measured in the same rounds to show the difference.
 */
export default defineBench(async ({ quick, log }) => {
  const domain = benchDomain
  const random = createRandom(2)
  const wallet = new Wallet(random.hex(32))
  const receipts = randomReceipts(random, quick ? 500 : 2_000, wallet.address as Address)
  const digests = receipts.map((receipt) => hashReceipt(receipt, domain))
  const digestBytes = digests.map((digest) => getBytes(digest))
  const privateKey = getBytes(wallet.privateKey)
  const backend = signatureBackend()
  const raw = rawSign()

  // Every side must produce the same signature: RFC 6979 nonces make signing deterministic.
  for (let i = 0; i < receipts.length; i++) {
    const { signature } = await signReceipt({ receipt: receipts[i]!, signer: wallet, domain })
    const noble = secp256k1.sign(digestBytes[i]!, privateKey)
    const expected = `0x${noble.toCompactHex()}${(27 + noble.recovery).toString(16)}`
    if (signature !== expected) throw new Error(`signature mismatch on receipt ${i}`)
    if (raw.compactHex(digestBytes[i]!, privateKey) !== noble.toCompactHex())
      throw new Error(`raw ${backend} signature mismatch on receipt ${i}`)
  }
  log(
    `${receipts.length} receipts sign identically with signReceipt and raw secp256k1 (${backend})`,
  )

  let c = 0
  let b = 0
  let j = 0
  let e = 0
  const n = receipts.length
  const nobleRaw = () => secp256k1.sign(digestBytes[j++ % n]!, privateKey)
  const stats = await compareThroughput(
    {
      candidate: () => signReceipt({ receipt: receipts[c++ % n]!, signer: wallet, domain }),
      baseline: () => raw.sign(digestBytes[b++ % n]!, privateKey),
      nobleRaw,
      nobleOfEthers: () => secp256k1OfEthers.sign(digestBytes[e++ % n]!, privateKey),
    },
    { rounds: quick ? 11 : 21, minTimeMs: quick ? 250 : 500, warmupMs: quick ? 500 : 1_000 },
  )
  const nobleVersion = packageVersion(
    '@noble/curves',
    import.meta.resolve('@noble/curves/secp256k1'),
  )
  const nobleOfEthersVersion = packageVersion(
    '@noble/curves',
    import.meta.resolve('noble-curves-of-ethers/secp256k1'),
  )
  // The curve code ethers itself imports, to check the alias above is the same version.
  const ethersRequire = createRequire(import.meta.resolve('ethers'))
  const nobleInsideEthers = packageVersion(
    '@noble/curves',
    ethersRequire.resolve('@noble/curves/secp256k1'),
  )
  if (nobleInsideEthers !== nobleOfEthersVersion)
    log(
      `warning: ethers uses @noble/curves ${nobleInsideEthers}, the alias is ${nobleOfEthersVersion}`,
    )
  return [
    ratioFigure({
      name: 'receipts signed per second (vs raw secp256k1 sign)',
      candidate: stats.candidate,
      baseline: stats.baseline,
      baselineLabel: raw.label,
      opName: 'signatures',
      target: 0.8,
      detail: {
        receipts: n,
        signatureBackend: backend,
        candidate: `@rma/core signReceipt with an ethers ${ethersVersion} Wallet`,
        nobleVersion,
        nobleRawOpsPerSecond: Math.round(stats.nobleRaw.opsPerSecond),
        nobleOfEthersVersion,
        nobleOfEthersOpsPerSecond: Math.round(stats.nobleOfEthers.opsPerSecond),
        // How many times faster than the pure-JS raw signs signReceipt is (paired medians).
        candidateOverNobleRaw: round(ratioOf(stats.candidate, stats.nobleRaw)),
        candidateOverNobleOfEthers: round(ratioOf(stats.candidate, stats.nobleOfEthers)),
      },
    }),
  ]
})

function round(value: number): number {
  return Math.round(value * 1000) / 1000
}
