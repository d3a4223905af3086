import {
  type Address,
  createDomain,
  decodeAttestation,
  signReceipt,
  verifyAttestation,
  zeroHash,
} from '@rma/core'
import { assetId, attest, chainId, settlementContract } from '@rma/express/testing'
import { Wallet } from 'ethers'
import type { Random } from '../fixtures/createRandom.js'
import { randomReceipt } from '../fixtures/randomReceipt.js'
import { measureThroughput } from '../lib/measureThroughput.js'

/** Per-call time of the two signature operations no metered call can skip, in ms. */
export type RequiredWork = {
  /** `verifyAttestation`: hash the attestation and recover its signer (before forwarding). */
  verifyMs: number
  /** `signReceipt` with the meter key: hash the receipt and sign it (after usage is known). */
  signMs: number
}

/**
 * Times, on this thread and with the backends the meter uses (`signatureBackend()`), the two
 * signature operations every attested metered call needs in sequence with its answer: the
 * attestation must be verified before anything is forwarded, and the receipt can only be signed
 * once the upstream reported usage. With the SQLite commit the receipt waits for before it is
 * delivered, they bound how close a metered proxy can come to an unmetered one.
 */
export async function measureRequiredWork(random: Random, quick: boolean): Promise<RequiredWork> {
  const domain = createDomain({ chainId, verifyingContract: settlementContract })
  const user = new Wallet(random.hex(32))
  const meter = new Wallet(random.hex(32))
  // An attestation as @rma/client sends it, over a chat body.
  const attestation = decodeAttestation(await attest(user, '{"model":"gpt-4o-mini"}'))
  if (!verifyAttestation({ attestation, domain })) throw new Error('attestation does not verify')
  const receipt = randomReceipt(random, {
    assetId,
    meter: meter.address as Address,
    user: user.address as Address,
    seq: 1,
    prev: zeroHash,
  })
  const options = { minTimeMs: quick ? 300 : 1_000, warmupMs: quick ? 200 : 500 }
  const verify = await measureThroughput(() => verifyAttestation({ attestation, domain }), options)
  const sign = await measureThroughput(
    () => signReceipt({ signer: meter, domain, receipt }),
    options,
  )
  return { verifyMs: 1000 / verify.opsPerSecond, signMs: 1000 / sign.opsPerSecond }
}
