import { measureFraudGas, startAnvil } from '@rma/contracts/testing'
import { defineBench } from '../lib/defineBench.js'
import { figure } from '../lib/figure.js'

/**
 * Gas of the fraud proofs of the settlement contract (#15), from real transaction receipts on a
 * local anvil node (`gasUsed`: the 21,000 base and the calldata of a whole receipt included).
 * Each proof forwards its calldata to the stateless RMAFraudVerifier (EIP-712 hashing,
 * ecrecover, Merkle proof, price rule), then pays the user and the challenger, revokes the
 * meter and freezes the asset. A penalty above the bond also records a stake slash (one fresh
 * slot; its count and rounding unit go into the risk slot the revocation writes anyway, and the
 * accumulator of the slash's epoch is written by the issuer's `resume`). Counts, not ratios: gas
 * is deterministic. Target: 200k per proof.
 */
export default defineBench(async ({ log }) => {
  const anvil = await startAnvil({ accounts: 10 })
  try {
    const gas = await measureFraudGas(anvil)
    log(`fraud proofs: ${JSON.stringify(gas, (_, v) => (typeof v === 'bigint' ? Number(v) : v))}`)
    const count = (name: string, value: bigint, target: number | null, note: string) =>
      figure({
        name,
        value: Number(value),
        unit: 'gas',
        baseline: null,
        better: 'lower',
        target,
        detail: { note },
      })
    return [
      count(
        'proveOvercharge gas',
        gas.proveOvercharge,
        200_000,
        'receipt + attestation, paid from the bond',
      ),
      count(
        'proveEquivocation gas',
        gas.proveEquivocation,
        200_000,
        'two receipts, paid from the bond',
      ),
      count(
        'proveMispricing gas',
        gas.proveMispricing,
        200_000,
        'receipt + price entry + 3-hash proof, paid from the bond',
      ),
      count(
        'proveOvercharge gas, penalty above the bond (stake slashed)',
        gas.proveOverchargeWithStakeSlash,
        200_000,
        'bond emptied, the rest slashed from active and unbonding stake pro rata (records one slash: one fresh slot)',
      ),
      count('resume gas', gas.resume, null, 'the issuer lifts a freeze with the bond restored'),
      count(
        'resume gas after a stake slash',
        gas.resumeAfterStakeSlash,
        null,
        'also records the accumulator the epoch of the slash ends with (one fresh slot)',
      ),
    ]
  } finally {
    await anvil.stop()
  }
})
