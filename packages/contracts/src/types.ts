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

/** `getAsset(assetId)` as ethers decodes it (every integer is a bigint). */
export type AssetView = {
  issuer: string
  token: string
  settler: string
  issuerBps: bigint
  supportersBps: bigint
  usersBps: bigint
  protocolBps: bigint
  unbondingDelay: bigint
  /** The last settled epoch (0 before the first settlement). */
  epoch: bigint
  totalStake: bigint
  totalUnbonding: bigint
  rewardPerStake: bigint
  rebateRoot: string
  issuerOwed: bigint
  /** Protocol fees owed in this asset's token, over every asset paying in it. */
  protocolOwed: bigint
  rebatesFunded: bigint
  rebatesClaimed: bigint
  supportersFunded: bigint
  supportersClaimed: bigint
  issuerFunded: bigint
  issuerClaimed: bigint
}

/** `stakeOf(assetId, supporter)`. */
export type StakeView = [active: bigint, unbonding: bigint, unbondingEnd: bigint] & {
  active: bigint
  unbonding: bigint
  unbondingEnd: bigint
}

/** The settlement contract as an ethers v6 contract, typed after `rmaSettlementAbi`. */
export interface RmaSettlementContract extends BaseContract {
  connect(runner: ContractRunner | null): RmaSettlementContract

  BPS: View<[], bigint>
  REWARD_SCALE: View<[], bigint>
  MAX_UNBONDING_DELAY: View<[], bigint>
  owner: View<[], string>
  transferOwnership: Send<[newOwner: AddressLike]>
  /** Always reverts `OwnerRequired`: the owner receives protocol fees. */
  renounceOwnership: Send<[]>

  registerAsset: Send<
    [
      assetId: BytesLike,
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
  isMeter: View<[assetId: BytesLike, meter: AddressLike], boolean>
  getAsset: View<[assetId: BytesLike], AssetView>

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

  stake: Send<[assetId: BytesLike, amount: BigNumberish]>
  requestUnstake: Send<[assetId: BytesLike, amount: BigNumberish]>
  withdraw: Send<[assetId: BytesLike]>
  claimRewards: Send<[assetId: BytesLike]>
  stakeOf: View<[assetId: BytesLike, supporter: AddressLike], StakeView>
  claimableRewards: View<[assetId: BytesLike, supporter: AddressLike], bigint>

  claimRebate: Send<
    [assetId: BytesLike, user: AddressLike, cumulativeAmount: BigNumberish, proof: BytesLike[]]
  >
  rebateClaimed: View<[assetId: BytesLike, user: AddressLike], bigint>
  claimIssuer: Send<[assetId: BytesLike]>
  claimProtocol: Send<[token: AddressLike]>
  protocolOwed: View<[token: AddressLike], bigint>
}

/** The test token (OpenZeppelin ERC-20 with an open `mint`), typed after `testTokenAbi`. */
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
}
