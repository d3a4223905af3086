import type { Address } from '@rma/core'
import type { Amount, PrepaidUserStatus, SupporterStatus } from './AssetStatus.js'
import type { Derivation } from './deriveAudit.js'

/** One epoch of a user, from the batch file's receipts and the chain's claims. */
export type AccountEpoch = {
  epoch: number
  kind: 'postpaid' | 'prepaid'
  calls: number
  spend: Amount
  /**
   * Postpaid: the rebate the epoch's root commits to the user (the audit's pro-rata figure when
   * the file does not show it). Prepaid: the rebate credited to its balance at settlement.
   */
  rebate: Amount
  /** Postpaid: whether it claimed the rebate. Prepaid: always true (credited, nothing to claim). */
  claimed: boolean
}

/** What one address is in one asset: its calls and rebates as a user, its stake as a supporter, its roles. */
export type AccountView = {
  address: Address
  /** `issuer`, `settler`, `meter`, `supporter`, `user`: what the chain and the batch files show it doing. */
  roles: string[]
  user: {
    calls: number
    /** Postpaid spend plus prepaid debits. */
    spend: Amount
    /** Postpaid rebates plus prepaid rebates credited. */
    rebates: Amount
    /** Postpaid rebates claimed (`RebateClaimed`). */
    claimed: Amount
    /** Committed rebates of epochs it has not claimed: what one `claimRebates` would pay. */
    claimable: Amount
    epochs: AccountEpoch[]
  }
  supporter: SupporterStatus | null
  /** Its prepaid balance of the asset's token, debits and rebates credited by this asset (null: no voucher settled). */
  prepaid: PrepaidUserStatus | null
  /** Postpaid epochs whose batch file could not be read or trusted: their calls are not counted above. */
  uncounted: number[]
}

/**
 * Looks an address up in an asset's derivation: what the explorer's lookup shows.
 *
 * @example
 * const view = readAccount(await deriveAudit(options), '0xabc…')
 */
export function readAccount(derivation: Derivation, address: string): AccountView {
  const who = address.toLowerCase()
  const { status } = derivation
  const claimedEpochs = new Set(status.users.find((u) => u.address === who)?.epochs ?? [])
  const epochs: AccountEpoch[] = []
  let calls = 0
  let spend = 0n
  let rebates = 0n
  let claimed = 0n
  let claimable = 0n
  for (const e of derivation.epochs) {
    const u = e.users.get(who)
    const prepaid = e.status.kind === 'prepaid'
    const wasClaimed = prepaid ? u !== undefined : claimedEpochs.has(e.status.epoch)
    if (!u && !wasClaimed) continue
    const rebate = u ? (u.committed ?? u.rebate) : 0n
    epochs.push({
      epoch: e.status.epoch,
      kind: e.status.kind,
      calls: u?.calls ?? 0,
      spend: String(u?.spend ?? 0n),
      rebate: String(rebate),
      claimed: wasClaimed,
    })
    calls += u?.calls ?? 0
    spend += u?.spend ?? 0n
    rebates += rebate
    if (prepaid) continue
    if (wasClaimed) claimed += rebate
    else if (u?.committed) claimable += u.committed
  }
  const claimedOnChain = status.users.find((u) => u.address === who)?.claimed
  const supporter = status.stake.supporters.find((s) => s.address === who) ?? null
  const prepaid = status.prepaid.users.find((u) => u.address === who) ?? null
  const roles: string[] = []
  if (status.asset.issuer === who) roles.push('issuer')
  if (status.asset.settler === who) roles.push('settler')
  if (status.asset.meters.includes(who as Address)) roles.push('meter')
  if (supporter) roles.push('supporter')
  if (epochs.length > 0) roles.push('user')
  return {
    address: who as Address,
    roles,
    user: {
      calls,
      spend: String(spend),
      rebates: String(rebates),
      claimed: claimedOnChain ?? String(claimed),
      claimable: String(claimable),
      epochs,
    },
    supporter,
    prepaid,
    uncounted: derivation.epochs
      .filter((e) => e.status.kind === 'postpaid' && e.receipts === null)
      .map((e) => e.status.epoch),
  }
}
