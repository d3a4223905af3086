import type {
  AddressLike,
  BaseContract,
  BaseContractMethod,
  BigNumberish,
  BytesLike,
  ContractRunner,
  ContractTransactionResponse,
} from 'ethers'

/** A state-changing method: sends a transaction. */
type Send<A extends unknown[]> = BaseContractMethod<A, void, ContractTransactionResponse>
/** A view method: returns a value. */
type View<A extends unknown[], R> = BaseContractMethod<A, R, R>

/** `getAsset(assetId)` as ethers decodes it (every integer is a bigint; every amount is the asset's own). */
export type AssetView = {
  issuer: string
  /** The account that may accept the issuer role (the zero address when none is offered). */
  pendingIssuer: string
  token: string
  settler: string
  issuerBps: bigint
  supportersBps: bigint
  usersBps: bigint
  protocolBps: bigint
  unbondingDelay: bigint
  /** The last settled epoch (0 before the first settlement). */
  epoch: bigint
  /** Active stake: what the next settle's supporters' share is divided by. */
  totalStake: bigint
  /** Stake that activates at the next settle (and earns from the one after). */
  pendingStake: bigint
  totalUnbonding: bigint
  /** Reward per staked unit, scaled by `REWARD_SCALE` (1e36). */
  rewardPerStake: bigint
  /** The supporters' share waiting for active stake (part of what supporters are owed). */
  heldForSupporters: bigint
  issuerOwed: bigint
  /** Protocol fees this asset owes the owner. */
  protocolOwed: bigint
  rebatesFunded: bigint
  rebatesClaimed: bigint
  supportersFunded: bigint
  supportersClaimed: bigint
  issuerFunded: bigint
  issuerClaimed: bigint
  protocolFunded: bigint
  protocolClaimed: bigint
  /** Settlers' deposits for future batches. */
  deposits: bigint
  /** Everything the asset owes: stake, every role's owed amount, the deposits and pending batches' revenue. */
  ledger: bigint
}

/** `stakeOf(assetId, supporter)`: active stake includes stake activated by a settle. */
export type StakeView = [active: bigint, unbonding: bigint, unbondingEnd: bigint] & {
  active: bigint
  unbonding: bigint
  unbondingEnd: bigint
}

/** `pendingStakeOf(assetId, supporter)`. */
export type PendingStakeView = [amount: bigint, activationEpoch: bigint] & {
  amount: bigint
  /** The epoch whose settle activates it; it earns from the settle after that one. */
  activationEpoch: bigint
}

/** `epochRebates(assetId, epoch)`. */
export type EpochRebatesView = [root: string, remaining: bigint] & {
  /** The first 20 bytes of the epoch's rebate root, then 12 zero bytes (see `storedRebateRoot`). */
  root: string
  /**
   * What of the epoch's funding is still unclaimed. The epoch funded its `Settled.usersAmount`;
   * claimed so far is that minus `remaining`.
   */
  remaining: bigint
}

/** One epoch's claim in `claimRebates`. */
export type RebateClaim = { epoch: BigNumberish; amount: BigNumberish; proof: BytesLike[] }

/**
 * A voucher for `settlePrepaid`: a user's `ReceiptAck` of receipt `seq` of the chain (asset,
 * meter, user) for `cumulativeAmount`, with its signature in EIP-2098 compact form (`r`, `vs`;
 * ethers: `Signature.from(sig).yParityAndS`).
 */
export type Voucher = {
  meter: AddressLike
  user: AddressLike
  seq: BigNumberish
  receiptHash: BytesLike
  cumulativeAmount: BigNumberish
  r: BytesLike
  vs: BytesLike
}

/** `epochStateOf(assetId, epoch)`: 0n not settled, 1n pending, 2n released, 3n vetoed. */
export type EpochStateView = [state: bigint, releasableAt: bigint, revenue: bigint] & {
  /** 0n not settled, 1n pending, 2n released (or settled without a window, prepaid too), 3n vetoed. */
  state: bigint
  /** Pending only: Unix seconds from which `release` may credit it (after every earlier one). */
  releasableAt: bigint
  /** Pending only: the revenue it paid in, credited (split) at its release. */
  revenue: bigint
}

/** `prepaidBalance(token, user)`. */
export type PrepaidBalanceView = [
  balance: bigint,
  withdrawalRequested: bigint,
  withdrawableAt: bigint,
] & {
  balance: bigint
  /** What `withdraw` will pay at most (0 without a request). */
  withdrawalRequested: bigint
  /** Unix seconds from which the request can be withdrawn (0 without a request). */
  withdrawableAt: bigint
}

/** `settledVoucher(assetId, meter, user)`: the chain's last settled voucher (zeros before one). */
export type SettledVoucherView = [seq: bigint, cumulativeAmount: bigint] & {
  seq: bigint
  cumulativeAmount: bigint
}

/** `riskOf(assetId)`: the asset's fraud-risk summary. */
export type RiskView = [bond: bigint, frozen: boolean, totalSlashed: bigint, meters: bigint] & {
  /** The issuer bond (part of the asset's ledger); fraud proofs take from it first. */
  bond: bigint
  /** Whether a proven fraud froze the asset (settle and settlePrepaid revert `AssetFrozen`). */
  frozen: boolean
  /** Everything fraud proofs took from the bond and the stake so far. */
  totalSlashed: bigint
  /** How many meters are authorised now. */
  meters: bigint
}

/** `stakeAtRiskOf(assetId, supporter)`: what a fraud proof can slash now, and what slashes took. */
export type StakeAtRiskView = [active: bigint, unbonding: bigint, slashed: bigint] & {
  active: bigint
  unbonding: bigint
  slashed: bigint
}

/** A fraud proof's receipt, attestation or price entry tuple (see `toReceiptStruct` & co.). */
type Tuple = Record<string, unknown>

/** The settlement contract as an ethers v6 contract, typed after `rmaSettlementAbi`. */
export interface RmaSettlementContract extends BaseContract {
  connect(runner: ContractRunner | null): RmaSettlementContract

  BPS: View<[], bigint>
  REWARD_SCALE: View<[], bigint>
  MIN_UNBONDING_DELAY: View<[], bigint>
  MAX_UNBONDING_DELAY: View<[], bigint>
  MAX_STAKE: View<[], bigint>
  MAX_AMOUNT: View<[], bigint>
  MAX_CUMULATIVE: View<[], bigint>
  MIN_WITHDRAWAL_DELAY: View<[], bigint>
  MAX_WITHDRAWAL_DELAY: View<[], bigint>
  RECEIPT_ACK_TYPEHASH: View<[], string>
  withdrawalDelay: View<[], bigint>
  /** The shortest challenge window, fixed at deployment; every new asset starts with it. */
  minChallengeWindow: View<[], bigint>
  owner: View<[], string>
  transferOwnership: Send<[newOwner: AddressLike]>
  /** Always reverts `OwnerRequired`: the owner receives protocol fees. */
  renounceOwnership: Send<[]>

  assetIdOf: View<[issuer: AddressLike, salt: BytesLike], string>
  registerAsset: Send<
    [
      salt: BytesLike,
      token: AddressLike,
      settler: AddressLike,
      issuerBps: BigNumberish,
      supportersBps: BigNumberish,
      usersBps: BigNumberish,
      protocolBps: BigNumberish,
      unbondingDelay: BigNumberish,
      meters: AddressLike[],
    ]
  >
  setMeter: Send<[assetId: BytesLike, meter: AddressLike, allowed: boolean]>
  setSettler: Send<[assetId: BytesLike, settler: AddressLike]>
  transferIssuer: Send<[assetId: BytesLike, newIssuer: AddressLike]>
  acceptIssuer: Send<[assetId: BytesLike]>
  isMeter: View<[assetId: BytesLike, meter: AddressLike], boolean>
  getAsset: View<[assetId: BytesLike], AssetView>
  ledgerOf: View<[assetId: BytesLike], bigint>
  assetCountOf: View<[token: AddressLike], bigint>

  settle: Send<
    [
      assetId: BytesLike,
      epoch: BigNumberish,
      revenue: BigNumberish,
      receiptsRoot: BytesLike,
      rebateRoot: BytesLike,
      receiptCount: BigNumberish,
      batchUri: string,
      batchHash: BytesLike,
    ]
  >
  /** Issuer only: the window (seconds) of batches settled from now on. */
  setChallengeWindow: Send<[assetId: BytesLike, challengeWindow: BigNumberish]>
  /** Anyone: credits the pending batches up to `epoch`, oldest first, each once due. */
  release: Send<[assetId: BytesLike, epoch: BigNumberish]>
  challengeWindowOf: View<[assetId: BytesLike], bigint>
  epochStateOf: View<[assetId: BytesLike, epoch: BigNumberish], EpochStateView>
  deposit: Send<[assetId: BytesLike, amount: BigNumberish]>
  withdrawDeposit: Send<[assetId: BytesLike, amount: BigNumberish]>
  depositOf: View<[assetId: BytesLike, settler: AddressLike], bigint>

  stake: Send<[assetId: BytesLike, amount: BigNumberish]>
  requestUnstake: Send<[assetId: BytesLike, amount: BigNumberish]>
  /**
   * A supporter's `withdraw(bytes32 assetId)`. `withdraw` is overloaded (the prepaid one takes a
   * token), so ethers needs the full signature: `contract['withdraw(bytes32)'](assetId)`.
   */
  'withdraw(bytes32)': Send<[assetId: BytesLike]>
  claimRewards: Send<[assetId: BytesLike]>
  stakeOf: View<[assetId: BytesLike, supporter: AddressLike], StakeView>
  pendingStakeOf: View<[assetId: BytesLike, supporter: AddressLike], PendingStakeView>
  claimableRewards: View<[assetId: BytesLike, supporter: AddressLike], bigint>

  claimRebate: Send<
    [
      assetId: BytesLike,
      epoch: BigNumberish,
      user: AddressLike,
      amount: BigNumberish,
      proof: BytesLike[],
    ]
  >
  claimRebates: Send<[assetId: BytesLike, user: AddressLike, claims: RebateClaim[]]>
  rebateClaimed: View<[assetId: BytesLike, epoch: BigNumberish, user: AddressLike], boolean>
  epochRebates: View<[assetId: BytesLike, epoch: BigNumberish], EpochRebatesView>
  claimIssuer: Send<[assetId: BytesLike]>
  claimProtocol: Send<[assetId: BytesLike]>
  skim: Send<[token: AddressLike, to: AddressLike, assetIds: BytesLike[]]>

  depositFor: Send<[token: AddressLike, user: AddressLike, amount: BigNumberish]>
  depositWithPermit: Send<
    [
      token: AddressLike,
      user: AddressLike,
      amount: BigNumberish,
      deadline: BigNumberish,
      v: BigNumberish,
      r: BytesLike,
      s: BytesLike,
    ]
  >
  requestWithdrawal: Send<[token: AddressLike, amount: BigNumberish]>
  /** The prepaid `withdraw(address token)`: `contract['withdraw(address)'](token)`. */
  'withdraw(address)': Send<[token: AddressLike]>
  settlePrepaid: Send<[assetId: BytesLike, vouchers: Voucher[]]>
  prepaidBalance: View<[token: AddressLike, user: AddressLike], PrepaidBalanceView>
  prepaidTotalOf: View<[token: AddressLike], bigint>
  /**
   * How the asset settles, fixed by its first settlement: 0n none yet, 1n postpaid (`settle`),
   * 2n prepaid (`settlePrepaid`); the other call then reverts with `SettlementModeMismatch`.
   */
  settlementModeOf: View<[assetId: BytesLike], bigint>
  settledVoucher: View<
    [assetId: BytesLike, meter: AddressLike, user: AddressLike],
    SettledVoucherView
  >
  domainSeparator: View<[], string>

  proofWindow: View<[], bigint>
  fraudVerifier: View<[], string>
  proveEquivocation: Send<[a: Tuple, sigA: BytesLike, b: Tuple, sigB: BytesLike]>
  proveOvercharge: Send<[r: Tuple, sigR: BytesLike, att: Tuple, sigAtt: BytesLike]>
  proveMispricing: Send<[r: Tuple, sigR: BytesLike, entry: Tuple, proof: BytesLike[]]>
  resume: Send<[assetId: BytesLike]>
  commitPriceTable: Send<
    [assetId: BytesLike, root: BytesLike, effectiveFrom: BigNumberish, uri: string]
  >
  priceTableOf: View<
    [assetId: BytesLike, root: BytesLike],
    [version: bigint, effectiveFrom: bigint] & { version: bigint; effectiveFrom: bigint }
  >
  setMinBond: Send<[token: AddressLike, amount: BigNumberish]>
  minBondOf: View<[token: AddressLike], bigint>
  postBond: Send<[assetId: BytesLike, amount: BigNumberish]>
  /** Only with no meter authorised and `proofWindow` passed since the last revocation. */
  withdrawBond: Send<[assetId: BytesLike, amount: BigNumberish]>
  bondOf: View<[assetId: BytesLike], bigint>
  riskOf: View<[assetId: BytesLike], RiskView>
  stakeAtRiskOf: View<[assetId: BytesLike, supporter: AddressLike], StakeAtRiskView>
  wasMeter: View<[assetId: BytesLike, meter: AddressLike], boolean>
  isProven: View<
    [assetId: BytesLike, meter: AddressLike, user: AddressLike, seq: BigNumberish],
    boolean
  >
  ackDigest: View<
    [
      assetId: BytesLike,
      user: AddressLike,
      meter: AddressLike,
      seq: BigNumberish,
      receiptHash: BytesLike,
      cumulativeAmount: BigNumberish,
    ],
    string
  >
}

/**
 * A test token (`TestToken`, `FeeOnTransferToken` or `RebasingToken`: each with an open `mint`),
 * typed after `testTokenAbi` (`permit` and `nonces` exist on the plain token only, `rebase` on
 * the rebasing token only).
 */
export interface TestTokenContract extends BaseContract {
  connect(runner: ContractRunner | null): TestTokenContract

  name: View<[], string>
  symbol: View<[], string>
  decimals: View<[], bigint>
  totalSupply: View<[], bigint>
  balanceOf: View<[account: AddressLike], bigint>
  allowance: View<[owner: AddressLike, spender: AddressLike], bigint>
  approve: Send<[spender: AddressLike, value: BigNumberish]>
  transfer: Send<[to: AddressLike, value: BigNumberish]>
  transferFrom: Send<[from: AddressLike, to: AddressLike, value: BigNumberish]>
  mint: Send<[to: AddressLike, amount: BigNumberish]>
  /** Only on the plain test token (EIP-2612 permit): the owner's next permit nonce. */
  nonces: View<[owner: AddressLike], bigint>
  /** Only on the plain test token: EIP-2612 `permit`. */
  permit: Send<
    [
      owner: AddressLike,
      spender: AddressLike,
      value: BigNumberish,
      deadline: BigNumberish,
      v: BigNumberish,
      r: BytesLike,
      s: BytesLike,
    ]
  >
  /** Only on the rebasing test token: multiplies every balance by (10000 + bps) / 10000. */
  rebase: Send<[bps: BigNumberish]>
}
