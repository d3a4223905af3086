import type { Address, Hex } from '@rma/core'

/** Base units of the payment token as a decimal string (JSON has no bigint). */
export type Amount = string

/** One role's books: what settlements funded, what was paid out, and what is still owed. */
export type RoleStatus = { funded: Amount; claimed: Amount; owed: Amount }

/** The four parts of a revenue: issuer (with the rounding dust), supporters, users, protocol. */
export type SplitStatus = { issuer: Amount; supporters: Amount; users: Amount; protocol: Amount }

/** One settled epoch, as its `Settled` event and `epochRebates` hold it. */
export type EpochStatus = {
  epoch: number
  block: number
  /** Unix seconds of the settling block. */
  timestamp: number
  transactionHash: Hex
  /** The asset's settler when it settled (only the settler can settle). */
  settler: Address
  /** The revenue credited and split (what the settler paid in). */
  revenue: Amount
  receiptCount: number
  receiptsRoot: Hex
  rebateRoot: Hex
  batchHash: Hex
  batchUri: string
  split: SplitStatus
  /** Of this epoch's users' share: claimed so far. */
  rebatesClaimed: Amount
}

/** One supporter, from its `Staked` events and the contract's views. */
export type SupporterStatus = {
  address: Address
  /** Earning stake. */
  active: Amount
  /** Stake that activates at the settle of `activationEpoch`. */
  pending: Amount
  activationEpoch: number
  unbonding: Amount
  /** Unix seconds after which the unbonding stake can be withdrawn (0: none). */
  unbondingEnd: number
  /** Σ of its `Staked` amounts (credited), ever. */
  staked: Amount
  /** Σ of its `Withdrawn` amounts. */
  withdrawn: Amount
  rewardsClaimed: Amount
  rewardsClaimable: Amount
  /** claimed + claimable: the rewards it has realised so far. */
  rewardsEarned: Amount
  /** rewardsEarned per unit staked, in basis points (rounded down; 0 with nothing staked). */
  yieldBps: number
}

/** One user who claimed rebates (from `RebateClaimed`; what is unclaimed lives in batch files). */
export type UserClaimStatus = { address: Address; claimed: Amount; epochs: number[] }

/**
 * Everything the chain holds about one asset, JSON-safe (amounts as decimal strings): what
 * `rma status --json` prints and the explorer page draws.
 */
export type AssetStatus = {
  chainId: number
  contract: Address
  assetId: Hex
  /** The block every figure was read at. */
  block: number
  asset: {
    issuer: Address
    /** The account offered the issuer role (null: none). */
    pendingIssuer: Address | null
    token: Address
    settler: Address
    shares: { issuerBps: number; supportersBps: number; usersBps: number; protocolBps: number }
    unbondingDelay: number
    /** Meter keys authorised now (from `MeterSet`, in the order first authorised). */
    meters: Address[]
    /** The last settled epoch (0 before the first). */
    epoch: number
  }
  epochs: EpochStatus[]
  totals: { revenue: Amount; receiptCount: number }
  stake: {
    active: Amount
    pending: Amount
    unbonding: Amount
    /** The supporters' share waiting for active stake. */
    held: Amount
    supporters: SupporterStatus[]
  }
  roles: { issuer: RoleStatus; supporters: RoleStatus; users: RoleStatus; protocol: RoleStatus }
  /** Settlers' deposits that prepay future batches (`deposit`). */
  deposits: Amount
  /** Everything the asset owes (`ledgerOf`): stake, every role's owed amount and the deposits. */
  ledger: Amount
  users: UserClaimStatus[]
}
