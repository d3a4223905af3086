import { type RevenueShares, splitRevenue } from '@rma/core'

/** The contract's reward scale, mirrored. */
export const REWARD_SCALE = 10n ** 36n

export type SupporterModel = {
  active: bigint
  pending: bigint
  /** The epoch whose settle activates `pending`. */
  pendingEpoch: bigint
  unbonding: bigint
  unbondingEnd: bigint
  rewardPerStakePaid: bigint
  accrued: bigint
  /** Rewards paid out so far. */
  claimed: bigint
  /** How many of the asset's slashes are applied to this supporter. */
  slashIndex: number
  /** What slashes took from its stake. */
  slashed: bigint
}

/** One slash of the stake: active and unbonding scaled by num / den (floored) at accumulator `rps`, after settle `epoch`. */
export type SlashModel = { num: bigint; den: bigint; epoch: bigint; rps: bigint }

export type RoleTotals = { issuer: bigint; supporters: bigint; users: bigint; protocol: bigint }

/** One epoch's rebates: its funding, its tree's leaves (by account index) and what was paid. */
export type EpochModel = {
  funded: bigint
  leaves: Map<number, bigint>
  claimed: bigint
  /** In its challenge window: claims revert `EpochPending`, nothing funded yet. */
  pending?: boolean
}

/** A postpaid batch in its challenge window: what arrived and when it can be released. */
export type PendingBatchModel = { epoch: bigint; received: bigint; releasableAt: bigint }

/**
 * A reference model of one asset of the settlement contract in plain bigint math, written
 * independently of the Solidity: pending stake activated after the next settle's credit, a
 * supporters' credit capped at the active stake with the rest held, per-epoch rebates capped at
 * their funding, amounts credited as they arrive (a fee-on-transfer token keeps 1%).
 */
export class SettlementModel {
  epoch = 0n
  rewardPerStake = 0n
  totalStake = 0n
  pendingStake = 0n
  totalUnbonding = 0n
  held = 0n
  /** Each account's deposit; the settler's pays its batches when it covers them. */
  readonly deposits: bigint[]
  /** The account index of the current settler (the last account at first). */
  settler: number
  /** Accumulator values right after the settles at which stake activated. */
  readonly activation = new Map<bigint, bigint>()
  readonly epochs = new Map<bigint, EpochModel>()
  readonly funded: RoleTotals = { issuer: 0n, supporters: 0n, users: 0n, protocol: 0n }
  readonly claimed: RoleTotals = { issuer: 0n, supporters: 0n, users: 0n, protocol: 0n }
  /** Revenue credited (what arrived) over every settle and release. */
  revenue = 0n
  /** The challenge window of batches settled from now on (seconds). */
  window = 0n
  /** Batches in their challenge window, oldest first (released in this order). */
  readonly pending: PendingBatchModel[] = []
  readonly supporters: SupporterModel[]
  /** What each account received from this asset (rewards, rebates, withdrawals), as sent. */
  readonly paidTo: bigint[]
  /** The issuer bond, what fraud proofs took in all, the slashes, and the units of rounding a slash gave the protocol. */
  bond = 0n
  totalSlashed = 0n
  frozen = false
  readonly slashes: SlashModel[] = []
  slashDust = 0n

  constructor(
    readonly shares: RevenueShares,
    readonly unbondingDelay: bigint,
    accounts: number,
    /** Whether the token keeps 1% of every transfer. */
    readonly feeOnTransfer = false,
  ) {
    this.deposits = Array.from({ length: accounts }, () => 0n)
    this.settler = accounts - 1
    this.supporters = Array.from({ length: accounts }, () => ({
      active: 0n,
      pending: 0n,
      pendingEpoch: 0n,
      unbonding: 0n,
      unbondingEnd: 0n,
      rewardPerStakePaid: 0n,
      accrued: 0n,
      claimed: 0n,
      slashIndex: 0,
      slashed: 0n,
    }))
    this.paidTo = Array.from({ length: accounts }, () => 0n)
  }

  /** What arrives of a transfer of `amount` (the fee token burns 1%, floored). */
  arrives(amount: bigint): bigint {
    return this.feeOnTransfer ? amount - amount / 100n : amount
  }

  /** The supporter brought up to date, without changing the model. */
  synced(i: number): SupporterModel {
    const s = { ...this.supporters[i]! }
    const activate = () => {
      const at = this.activation.get(s.pendingEpoch)!
      s.accrued += (s.active * (at - s.rewardPerStakePaid)) / REWARD_SCALE
      s.rewardPerStakePaid = at
      s.active += s.pending
      s.pending = 0n
      s.pendingEpoch = 0n
    }
    // Slashes since the last update, in order: stake activated by then was at risk.
    for (; s.slashIndex < this.slashes.length; s.slashIndex++) {
      const slash = this.slashes[s.slashIndex]!
      if (s.pending !== 0n && slash.epoch >= s.pendingEpoch) activate()
      s.accrued += (s.active * (slash.rps - s.rewardPerStakePaid)) / REWARD_SCALE
      s.rewardPerStakePaid = slash.rps
      const active = (s.active * slash.num) / slash.den
      const unbonding = (s.unbonding * slash.num) / slash.den
      s.slashed += s.active - active + s.unbonding - unbonding
      s.active = active
      s.unbonding = unbonding
    }
    if (s.pending !== 0n && this.epoch >= s.pendingEpoch) activate()
    s.accrued += (s.active * (this.rewardPerStake - s.rewardPerStakePaid)) / REWARD_SCALE
    s.rewardPerStakePaid = this.rewardPerStake
    return s
  }

  private sync(i: number) {
    this.supporters[i] = this.synced(i)
  }

  claimable(i: number): bigint {
    return this.synced(i).accrued
  }

  /**
   * Settles the next epoch at block time `now`; `leaves` is its rebate tree. With a window (or
   * batches pending) it first releases the oldest pending batch if due, then leaves this one
   * pending. Returns what arrived.
   */
  settle(revenue: bigint, leaves: Map<number, bigint>, now = 0n): bigint {
    let received = 0n
    if (revenue !== 0n) {
      if (this.deposits[this.settler]! >= revenue) {
        this.deposits[this.settler]! -= revenue
        received = revenue
      } else received = this.arrives(revenue)
    }
    if (this.window !== 0n || this.pending.length !== 0) {
      if (this.pending.length !== 0 && this.pending[0]!.releasableAt <= now) this.releaseOldest()
      this.epoch += 1n
      this.pending.push({ epoch: this.epoch, received, releasableAt: now + this.window })
      if ((received * BigInt(this.shares.usersBps)) / 10_000n !== 0n)
        this.epochs.set(this.epoch, { funded: 0n, leaves, claimed: 0n, pending: true })
      this.creditSupporters(0n)
      return received
    }
    const split = splitRevenue(received, this.shares)
    this.epoch += 1n
    this.revenue += received
    for (const role of ['issuer', 'supporters', 'users', 'protocol'] as const)
      this.funded[role] += split[role]
    if (split.users !== 0n)
      this.epochs.set(this.epoch, { funded: split.users, leaves, claimed: 0n })
    this.creditSupporters(split.supporters)
    return received
  }

  /**
   * Settles the next epoch from prepaid vouchers: `debits` are the applied vouchers' increases.
   * Each user gets back `floor(debit * usersBps / 10000)`; the batch's users' share less those
   * rebates goes to the issuer. Returns each voucher's rebate.
   */
  settlePrepaid(debits: readonly bigint[]): bigint[] {
    const total = debits.reduce((a, b) => a + b, 0n)
    const rebates = debits.map((d) => (d * BigInt(this.shares.usersBps)) / 10_000n)
    const rebated = rebates.reduce((a, b) => a + b, 0n)
    const split = splitRevenue(total, this.shares)
    this.epoch += 1n
    this.revenue += total - rebated
    this.funded.issuer += split.issuer + split.users - rebated
    this.funded.supporters += split.supporters
    this.funded.protocol += split.protocol
    this.creditSupporters(split.supporters)
    return rebates
  }

  /** Why a settle at `now` would revert for lack of room: the oldest pending batch is not due. */
  settleError(now: bigint): string | null {
    const oldest = this.pending[0]
    return this.pending.length === 15 && oldest!.releasableAt > now ? 'TooManyPending' : null
  }

  /** Credits the oldest pending batch's split as a settle without a window would have. */
  releaseOldest(): bigint {
    const batch = this.pending.shift()!
    const split = splitRevenue(batch.received, this.shares)
    this.revenue += batch.received
    for (const role of ['issuer', 'supporters', 'users', 'protocol'] as const)
      this.funded[role] += split[role]
    const e = this.epochs.get(batch.epoch)
    if (e) {
      e.funded = split.users
      e.pending = false
    }
    this.creditShare(split.supporters)
    return batch.epoch
  }

  /** The supporters' share of a settle: credited up to the active stake, the rest held. */
  private creditSupporters(share: bigint) {
    this.creditShare(share)
    if (this.pendingStake !== 0n) {
      this.activation.set(this.epoch, this.rewardPerStake)
      this.totalStake += this.pendingStake
      this.pendingStake = 0n
    }
  }

  /** The credit part of a settle's supporters' share (a release activates no stake). */
  private creditShare(share: bigint) {
    const distributable = share + this.held
    const credit = smaller(distributable, this.totalStake)
    if (credit !== 0n) this.rewardPerStake += (credit * REWARD_SCALE) / this.totalStake
    this.held = distributable - credit
  }

  /** Stakes `amount` (what arrives of it); returns the amount credited. */
  stake(i: number, amount: bigint): bigint {
    this.sync(i)
    const received = this.arrives(amount)
    const s = this.supporters[i]!
    s.pending += received
    s.pendingEpoch = this.epoch + 1n
    this.pendingStake += received
    return received
  }

  unstakeError(i: number, amount: bigint): string | null {
    if (amount === 0n) return 'ZeroAmount'
    const s = this.synced(i)
    return amount > s.active + s.pending ? 'InsufficientStake' : null
  }

  requestUnstake(i: number, amount: bigint, blockTimestamp: bigint) {
    this.sync(i)
    const s = this.supporters[i]!
    const fromPending = smaller(amount, s.pending)
    const fromActive = amount - fromPending
    s.pending -= fromPending
    this.pendingStake -= fromPending
    s.active -= fromActive
    this.totalStake -= fromActive
    s.unbonding += amount
    this.totalUnbonding += amount
    s.unbondingEnd = blockTimestamp + this.unbondingDelay
  }

  withdrawError(i: number, blockTimestamp: bigint): string | null {
    const s = this.synced(i)
    if (s.unbonding === 0n) return 'NothingToWithdraw'
    return blockTimestamp < s.unbondingEnd ? 'StillUnbonding' : null
  }

  withdraw(i: number): bigint {
    this.sync(i)
    const s = this.supporters[i]!
    const amount = s.unbonding
    s.unbonding = 0n
    s.unbondingEnd = 0n
    this.totalUnbonding -= amount
    this.paidTo[i]! += amount
    return amount
  }

  claimRewards(i: number): bigint {
    this.sync(i)
    const s = this.supporters[i]!
    const amount = s.accrued
    s.accrued = 0n
    s.claimed += amount
    this.claimed.supporters += amount
    this.paidTo[i]! += amount
    return amount
  }

  /** Why a claim of account `i` for `epoch` would revert, or null. */
  rebateError(i: number, epoch: bigint, claimedBits: Set<string>): string | null {
    const e = this.epochs.get(epoch)
    const amount = e?.leaves.get(i)
    if (!e || amount === undefined) return 'InvalidProof'
    if (claimedBits.has(`${epoch}:${i}`)) return 'RebateAlreadyClaimed'
    if (amount === 0n) return 'NothingToClaim'
    if (e.claimed + amount <= e.funded) return null
    return e.pending ? 'EpochPending' : 'RebatesExceedFunded'
  }

  claimRebate(i: number, epoch: bigint, claimedBits: Set<string>): bigint {
    const e = this.epochs.get(epoch)!
    const amount = e.leaves.get(i)!
    e.claimed += amount
    claimedBits.add(`${epoch}:${i}`)
    this.claimed.users += amount
    this.paidTo[i]! += amount
    return amount
  }

  claimIssuer(): bigint {
    const amount = this.funded.issuer - this.claimed.issuer
    this.claimed.issuer += amount
    return amount
  }

  claimProtocol(): bigint {
    const amount = this.funded.protocol - this.claimed.protocol
    this.claimed.protocol += amount
    return amount
  }

  /**
   * A proven fraud with compensation `c`: c + max(c, minBond / 10) taken from the bond, then
   * from active and unbonding stake pro rata (totals floored; the unit a double floor can take
   * beyond the need goes to the protocol). Returns what the user and the challenger get.
   */
  fraud(c: bigint, minBond: bigint): { toUser: bigint; toChallenger: bigint } {
    const due = c + (c > minBond / 10n ? c : minBond / 10n)
    const fromBond = smaller(due, this.bond)
    this.bond -= fromBond
    let fromStake = 0n
    const wanted = due - fromBond
    const total = this.totalStake + this.totalUnbonding
    if (wanted !== 0n && total !== 0n) {
      fromStake = smaller(wanted, total)
      const num = total - fromStake
      const active = (this.totalStake * num) / total
      const unbonding = (this.totalUnbonding * num) / total
      this.slashes.push({ num, den: total, epoch: this.epoch, rps: this.rewardPerStake })
      const dust = this.totalStake - active + this.totalUnbonding - unbonding - fromStake
      this.funded.protocol += dust
      this.slashDust += dust
      this.totalStake = active
      this.totalUnbonding = unbonding
    }
    const taken = fromBond + fromStake
    this.totalSlashed += taken
    this.frozen = true
    this.vetoPending()
    const toUser = smaller(taken, c)
    return { toUser, toChallenger: taken - toUser }
  }

  /**
   * A proven fraud vetoes every pending batch: its revenue goes back to the settler's deposit
   * and its rebates never become claimable.
   */
  vetoPending() {
    for (const batch of this.pending) {
      this.deposits[this.settler]! += batch.received
      this.epochs.delete(batch.epoch)
    }
    this.pending.length = 0
  }

  /** Everything the contract owes for this asset: its `ledgerOf`. */
  owed(): bigint {
    return (
      this.bond +
      this.totalStake +
      this.pendingStake +
      this.totalUnbonding +
      this.deposits.reduce((a, b) => a + b, 0n) +
      (this.funded.issuer - this.claimed.issuer) +
      (this.funded.supporters - this.claimed.supporters) +
      (this.funded.users - this.claimed.users) +
      (this.funded.protocol - this.claimed.protocol) +
      this.pending.reduce((sum, b) => sum + b.received, 0n)
    )
  }
}

/** The smaller of two amounts (`Math.min` takes no bigint). */
function smaller(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}
