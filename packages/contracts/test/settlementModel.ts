import { type RevenueShares, splitRevenue } from '@rma/core'

/** The contract's reward scale, mirrored. */
export const REWARD_SCALE = 10n ** 18n

export type SupporterModel = {
  active: bigint
  unbonding: bigint
  unbondingEnd: bigint
  rewardPerStakePaid: bigint
  accrued: bigint
  /** Rewards paid out so far. */
  claimed: bigint
}

export type RoleTotals = { issuer: bigint; supporters: bigint; users: bigint; protocol: bigint }

/**
 * A reference model of one asset of the settlement contract in plain bigint math: the same
 * accumulator, floors and counters, written independently of the Solidity.
 */
export class SettlementModel {
  epoch = 0n
  rewardPerStake = 0n
  totalStake = 0n
  totalUnbonding = 0n
  rebatesFunded = 0n
  rebatesClaimed = 0n
  supportersFunded = 0n
  supportersClaimed = 0n
  issuerFunded = 0n
  issuerClaimed = 0n
  protocolFunded = 0n
  protocolClaimed = 0n
  /** Sum of `splitRevenue` over every settlement, per role. */
  readonly predicted: RoleTotals = { issuer: 0n, supporters: 0n, users: 0n, protocol: 0n }
  readonly supporters: SupporterModel[]
  /** Cumulative rebate per user index (the rebate tree's leaves). */
  readonly rebateCumulative: bigint[]
  readonly rebateClaimed: bigint[]
  /** Token flows of each user, to check balances: everything staked, everything withdrawn. */
  readonly stakedTotal: bigint[]
  readonly withdrawnTotal: bigint[]

  constructor(
    readonly shares: RevenueShares,
    readonly unbondingDelay: bigint,
    users: number,
  ) {
    this.supporters = Array.from({ length: users }, () => ({
      active: 0n,
      unbonding: 0n,
      unbondingEnd: 0n,
      rewardPerStakePaid: 0n,
      accrued: 0n,
      claimed: 0n,
    }))
    this.rebateCumulative = Array.from({ length: users }, () => 0n)
    this.rebateClaimed = Array.from({ length: users }, () => 0n)
    this.stakedTotal = Array.from({ length: users }, () => 0n)
    this.withdrawnTotal = Array.from({ length: users }, () => 0n)
  }

  earned(i: number): bigint {
    const s = this.supporters[i]!
    return (s.active * (this.rewardPerStake - s.rewardPerStakePaid)) / REWARD_SCALE
  }

  claimable(i: number): bigint {
    return this.supporters[i]!.accrued + this.earned(i)
  }

  private accrue(i: number) {
    const s = this.supporters[i]!
    if (this.rewardPerStake === s.rewardPerStakePaid) return
    s.accrued += this.earned(i)
    s.rewardPerStakePaid = this.rewardPerStake
  }

  /** Why `settle` would revert, or null; `users` divides the users' share among users. */
  settleError(revenue: bigint): string | null {
    const { supporters } = splitRevenue(revenue, this.shares)
    return supporters > 0n && this.totalStake === 0n ? 'NoActiveStake' : null
  }

  settle(revenue: bigint, usersShareByUser: readonly bigint[]) {
    const split = splitRevenue(revenue, this.shares)
    this.epoch += 1n
    if (split.supporters > 0n)
      this.rewardPerStake += (split.supporters * REWARD_SCALE) / this.totalStake
    this.rebatesFunded += split.users
    this.supportersFunded += split.supporters
    this.issuerFunded += split.issuer
    this.protocolFunded += split.protocol
    usersShareByUser.forEach((amount, i) => {
      this.rebateCumulative[i]! += amount
    })
    for (const role of ['issuer', 'supporters', 'users', 'protocol'] as const)
      this.predicted[role] += split[role]
    return split
  }

  stake(i: number, amount: bigint) {
    this.accrue(i)
    this.supporters[i]!.active += amount
    this.totalStake += amount
  }

  unstakeError(i: number, amount: bigint): string | null {
    return amount > this.supporters[i]!.active ? 'InsufficientStake' : null
  }

  requestUnstake(i: number, amount: bigint, blockTimestamp: bigint) {
    this.accrue(i)
    const s = this.supporters[i]!
    s.active -= amount
    s.unbonding += amount
    s.unbondingEnd = blockTimestamp + this.unbondingDelay
    this.totalStake -= amount
    this.totalUnbonding += amount
  }

  withdrawError(i: number, blockTimestamp: bigint): string | null {
    const s = this.supporters[i]!
    if (s.unbonding === 0n) return 'NothingToWithdraw'
    return blockTimestamp < s.unbondingEnd ? 'StillUnbonding' : null
  }

  withdraw(i: number): bigint {
    const s = this.supporters[i]!
    const amount = s.unbonding
    s.unbonding = 0n
    s.unbondingEnd = 0n
    this.totalUnbonding -= amount
    return amount
  }

  claimRewards(i: number): bigint {
    const amount = this.claimable(i)
    const s = this.supporters[i]!
    s.rewardPerStakePaid = this.rewardPerStake
    s.accrued = 0n
    s.claimed += amount
    this.supportersClaimed += amount
    return amount
  }

  claimRebate(i: number): bigint {
    const amount = this.rebateCumulative[i]! - this.rebateClaimed[i]!
    this.rebateClaimed[i] = this.rebateCumulative[i]!
    this.rebatesClaimed += amount
    return amount
  }

  claimIssuer(): bigint {
    const amount = this.issuerFunded - this.issuerClaimed
    this.issuerClaimed += amount
    return amount
  }

  claimProtocol(): bigint {
    const amount = this.protocolFunded - this.protocolClaimed
    this.protocolClaimed += amount
    return amount
  }

  /** Everything the contract owes for this asset (its token balance must cover it). */
  owed(): bigint {
    return (
      this.totalStake +
      this.totalUnbonding +
      (this.issuerFunded - this.issuerClaimed) +
      (this.protocolFunded - this.protocolClaimed) +
      (this.rebatesFunded - this.rebatesClaimed) +
      (this.supportersFunded - this.supportersClaimed)
    )
  }
}
