import type { Address, Hex } from '@rma/core'

/** Base units of the payment token as a decimal string (JSON has no bigint). */
export type Amount = string

/** One role's books: what settlements funded, what was paid out, and what is still owed. */
export type RoleStatus = { funded: Amount; claimed: Amount; owed: Amount }

/** The four parts of a revenue: issuer (with the rounding dust), supporters, users, protocol. */
export type SplitStatus = { issuer: Amount; supporters: Amount; users: Amount; protocol: Amount }

/**
 * One settled epoch. `postpaid`: a `settle` (its `Settled` event and `epochRebates`), the
 * revenue paid in by the settler and a batch file. `prepaid`: a `settlePrepaid` (its
 * `PrepaidSettled` event), the revenue the Σ of the vouchers' debits of users' prepaid
 * balances, the users' share credited straight back to their balances (no root, no file).
 */
export type EpochStatus = {
  epoch: number
  kind: 'postpaid' | 'prepaid'
  block: number
  /** Unix seconds of the settling block. */
  timestamp: number
  transactionHash: Hex
  /** The asset's settler when it settled (only the settler can settle). */
  settler: Address
  /** The revenue credited and split (postpaid: what the settler paid in; prepaid: Σ debits). */
  revenue: Amount
  /**
   * Receipts settled. Prepaid: Σ over the applied vouchers of the seq gained by their chain
   * (each seq is one receipt); null when the vouchers cannot be decoded (the settlement was
   * not a direct `settlePrepaid` call).
   */
  receiptCount: number | null
  /** Postpaid only (null for prepaid epochs, which commit no root and publish no file). */
  receiptsRoot: Hex | null
  rebateRoot: Hex | null
  batchHash: Hex | null
  batchUri: string | null
  /** As the contract split it (prepaid: `users` is what was credited back to the balances). */
  split: SplitStatus
  /** Of this epoch's users' share: claimed so far (prepaid: all of it, credited at settlement). */
  rebatesClaimed: Amount
  /** Prepaid only: vouchers submitted and applied (null for postpaid epochs). */
  vouchers: { submitted: number; settled: number } | null
  /**
   * `released`: its split is credited (at once without a challenge window; prepaid epochs
   * always). `pending`: in its challenge window, nothing of it credited or claimable yet.
   * `vetoed`: a fraud proof vetoed it; its revenue went back to the settler's deposit and its
   * rebates are never claimable. Only released epochs count as paid.
   */
  state: 'released' | 'pending' | 'vetoed'
  /** Pending only: Unix seconds from which it can be released (null otherwise). */
  releasableAt: number | null
}

/** One user's prepaid balance of the asset's token and what this asset's vouchers did to it. */
export type PrepaidUserStatus = {
  address: Address
  /** `prepaidBalance` now (shared by every asset paid in the token). */
  balance: Amount
  withdrawalRequested: Amount
  /** Unix seconds when the requested withdrawal may be made (0: none requested). */
  withdrawableAt: number
  /** Σ of its `VoucherSettled` debits for this asset. */
  debited: Amount
  /** Σ of `floor(debit * usersBps / 10000)` per applied voucher: what came back to its balance. */
  rebateCredited: Amount
  /** Vouchers of it applied for this asset. */
  vouchers: number
}

/** Prepaid balances: the token's total and each user this asset debited. */
export type PrepaidStatus = {
  /** `prepaidTotalOf(token)`: the sum of every prepaid balance of the asset's token (all assets). */
  total: Amount
  /** Σ of this asset's debits, and of the rebates credited back. */
  debited: Amount
  rebateCredited: Amount
  /** Users with at least one applied voucher for this asset, by address. */
  users: PrepaidUserStatus[]
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
    /** Seconds a postpaid batch settled now stays pending before its release (0: none). */
    challengeWindow: number
  }
  epochs: EpochStatus[]
  /**
   * Σ over every released epoch, postpaid and prepaid (receipts: of the epochs whose count is
   * known); pending and vetoed epochs' revenue apart, never counted as paid.
   */
  totals: { revenue: Amount; receiptCount: number; pendingRevenue: Amount; vetoedRevenue: Amount }
  stake: {
    active: Amount
    pending: Amount
    unbonding: Amount
    /** The supporters' share waiting for active stake. */
    held: Amount
    supporters: SupporterStatus[]
  }
  /**
   * The contract's counters (prepaid epochs included: the issuer, supporters and protocol are
   * funded by them as by a settle). `users` adds the prepaid rebates to both funded and claimed:
   * they are paid at once into the users' balances, so they are never owed.
   */
  roles: { issuer: RoleStatus; supporters: RoleStatus; users: RoleStatus; protocol: RoleStatus }
  /** Settlers' deposits that prepay future batches (`deposit`). */
  deposits: Amount
  /** Everything the asset owes (`ledgerOf`): stake, every role's owed amount and the deposits. */
  ledger: Amount
  users: UserClaimStatus[]
  prepaid: PrepaidStatus
}
