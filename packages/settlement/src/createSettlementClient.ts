import { getSettlementContract } from '@rma/contracts'
import type { Address, PriceTable } from '@rma/core'
import type { Signer } from 'ethers'
import { claimRebates } from './claimRebates.js'
import { commitPriceTable } from './commitPriceTable.js'
import { createRebateProver, type RebateProverOptions } from './createRebateProver.js'
import { createSettler, type SettlerOptions } from './createSettler.js'
import { type ReadPayoutsOptions, readPayouts } from './readPayouts.js'
import { sendClaim } from './sendClaim.js'

export type SettlementClientOptions = SettlerOptions & Pick<RebateProverOptions, 'cacheSize'>

export type SettlementClient = ReturnType<typeof createSettlementClient>

/**
 * The settler's loop, the proof server and the claims of one asset, wired to one store, one
 * signer and one batch directory: `createSettler`, `createRebateProver`, `claimRebates`,
 * `sendClaim` and `readPayouts` together, for a process that plays every role (the examples,
 * the demo). A process with one role uses that role's function alone.
 *
 * @example
 * const settlement = createSettlementClient({ store, signer, contract, assetId, batchBaseUri })
 * settlement.run({ every: 60_000 })
 * app.use(rmaRouter({ meter, proofs: settlement.proofFor }))
 */
export function createSettlementClient(options: SettlementClientOptions) {
  const settler = createSettler(options)
  const prover = createRebateProver({ ...options, runner: options.signer })
  const contract = getSettlementContract(options.contract, options.signer)
  const confirmations = options.confirmations ?? 1
  const { assetId } = options
  return {
    events: settler.events,
    settleOnce: settler.settleOnce,
    run: settler.run,
    proofFor: prover.proofFor,

    /** Claims a user's rebates of every settled epoch in one transaction (any signer may send it). */
    async claimRebates(user: Address, claimOptions: { signer?: Signer } = {}) {
      return claimRebates({
        contract: contract.connect(claimOptions.signer ?? options.signer),
        assetId,
        proof: await prover.proofFor(user),
        confirmations,
      })
    },

    /** Claims a supporter's rewards (the signer is the supporter). */
    claimRewards: (supporter: Signer) =>
      sendClaim(
        'claimRewards',
        () => contract.connect(supporter).claimRewards(assetId),
        confirmations,
      ),

    /** Pays the issuer everything owed to it (any signer may send it). */
    claimIssuer: (claimOptions: { signer?: Signer } = {}) =>
      sendClaim(
        'claimIssuer',
        () => contract.connect(claimOptions.signer ?? options.signer).claimIssuer(assetId),
        confirmations,
      ),

    /**
     * Commits the version of `table` in force at `effectiveFrom` for this asset (the signer
     * must be its issuer, or pass one); resolves with the root receipts will carry.
     */
    commitPriceTable: (
      table: PriceTable,
      commit: { effectiveFrom: number; uri: string; signer?: Signer },
    ) =>
      commitPriceTable({
        signer: commit.signer ?? options.signer,
        contract: options.contract,
        assetId,
        table,
        effectiveFrom: commit.effectiveFrom,
        uri: commit.uri,
        confirmations,
      }),

    /**
     * Per role: funded by this asset's settlements, claimed, and still claimable; and the
     * asset's risk (bond, frozen, slashed), with each supporter in `supporters` at risk.
     */
    payouts: (payoutsOptions: ReadPayoutsOptions = {}) =>
      readPayouts(contract, assetId, payoutsOptions),
  }
}
