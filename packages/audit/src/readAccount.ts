import type { Address } from '@rma/core'
import type { Amount, SupporterStatus } from './AssetStatus.js'
import type { Derivation } from './deriveAudit.js'

/** One epoch of a user, from the batch file's receipts and the chain's claims. */
export type AccountEpoch = {
  epoch: number
  calls: number
  spend: Amount
  /** The rebate the epoch's root commits to the user (the audit's pro-rata figure when the file does not show it). */
  rebate: Amount
  claimed: boolean
}

/** What one address is in one asset: its calls and rebates as a user, its stake as a supporter, its roles. */
export type AccountView = {
  address: Address
  /** `issuer`, `settler`, `meter`, `supporter`, `user`: what the chain and the batch files show it doing. */
  roles: string[]
  user: {
    calls: number
    spend: Amount
    rebates: Amount
    claimed: Amount
    /** Committed rebates of epochs it has not claimed: what one `claimRebates` would pay. */
    claimable: Amount
    epochs: AccountEpoch[]
  }
  supporter: SupporterStatus | null
  /** Epochs whose batch file could not be read or trusted: their calls are not counted above. */
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
    const wasClaimed = claimedEpochs.has(e.status.epoch)
    if (!u && !wasClaimed) continue
    const rebate = u ? (u.committed ?? u.rebate) : 0n
    epochs.push({
      epoch: e.status.epoch,
      calls: u?.calls ?? 0,
      spend: String(u?.spend ?? 0n),
      rebate: String(rebate),
      claimed: wasClaimed,
    })
    calls += u?.calls ?? 0
    spend += u?.spend ?? 0n
    rebates += rebate
    if (wasClaimed) claimed += rebate
    else if (u?.committed) claimable += u.committed
  }
  const claimedOnChain = status.users.find((u) => u.address === who)?.claimed
  const supporter = status.stake.supporters.find((s) => s.address === who) ?? null
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
    uncounted: derivation.epochs.filter((e) => e.receipts === null).map((e) => e.status.epoch),
  }
}
