import { getSettlementContract, type RmaSettlementContract } from '@rma/contracts'
import type { Address, Hex } from '@rma/core'
import { Contract, type ContractTransactionReceipt, type Signer } from 'ethers'

export type SupporterConfig = {
  /** The supporter's key, connected to the chain. Never logged. */
  signer: Signer
  settlementContract: Address
  assetId: Hex
}

export type SupporterStatus = {
  address: Address
  /** Earning stake. */
  active: bigint
  /**
   * Stake placed since the last settlement: it activates at the next settlement and earns
   * from the one after (no just-in-time capture of a batch).
   */
  pending: bigint
  /** Stake waiting for its unbonding delay (earns nothing). */
  unbonding: bigint
  /** Unix seconds when the unbonding stake can be withdrawn (0: none). */
  unbondingEnd: number
  /** Rewards claimable now. */
  claimable: bigint
  /** The supporter's payment-token balance. */
  balance: bigint
  /** All active stake of the asset: rewards are split pro rata to it. */
  totalStake: bigint
  unbondingDelay: number
}

const erc20Abi = [
  'function approve(address spender, uint256 amount) returns (bool)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function balanceOf(address owner) view returns (uint256)',
] as const

function contractOf(config: SupporterConfig): RmaSettlementContract {
  return getSettlementContract(config.settlementContract, config.signer)
}

async function mined(
  contract: RmaSettlementContract,
  sent: Promise<{ hash: string; wait(): Promise<ContractTransactionReceipt | null> }>,
) {
  const tx = await sent
  const receipt = await tx.wait()
  if (receipt?.status !== 1) throw new Error(`Transaction ${tx.hash} reverted.`)
  const events = receipt.logs.flatMap((log) => {
    const parsed = contract.interface.parseLog(log)
    return parsed ? [parsed] : []
  })
  return { txHash: tx.hash as Hex, gasUsed: receipt.gasUsed, events }
}

/**
 * Stakes `amount` (payment-token base units) for the asset, approving the settlement contract
 * first if needed. The stake activates at the next settlement and earns from the one after.
 *
 * @example
 * await stake({ signer, settlementContract, assetId }, 1_000_000_000n) // 1,000 tUSD
 */
export async function stake(config: SupporterConfig, amount: bigint) {
  const contract = contractOf(config)
  const { token } = await contract.getAsset(config.assetId)
  const erc20 = new Contract(token, erc20Abi, config.signer)
  const owner = await config.signer.getAddress()
  const allowance = (await erc20.getFunction('allowance')(
    owner,
    config.settlementContract,
  )) as bigint
  if (allowance < amount)
    await (await erc20.getFunction('approve')(config.settlementContract, amount)).wait()
  const { txHash, gasUsed } = await mined(contract, contract.stake(config.assetId, amount))
  return { amount, txHash, gasUsed }
}

/**
 * The supporter's stake, claimable rewards and balance, read from the chain.
 *
 * @example
 * const { active, claimable } = await supporterStatus(config)
 */
export async function supporterStatus(config: SupporterConfig): Promise<SupporterStatus> {
  const contract = contractOf(config)
  const address = (await config.signer.getAddress()) as Address
  const asset = await contract.getAsset(config.assetId)
  const [position, pending, claimable, balance] = await Promise.all([
    contract.stakeOf(config.assetId, address),
    contract.pendingStakeOf(config.assetId, address),
    contract.claimableRewards(config.assetId, address),
    new Contract(asset.token, erc20Abi, config.signer).getFunction('balanceOf')(address),
  ])
  return {
    address,
    active: position.active,
    pending: pending.amount,
    unbonding: position.unbonding,
    unbondingEnd: Number(position.unbondingEnd),
    claimable,
    balance: balance as bigint,
    totalStake: asset.totalStake,
    unbondingDelay: Number(asset.unbondingDelay),
  }
}

/**
 * Polls the supporter's claimable rewards and calls `onChange` each time they grow (after
 * every settlement of the asset).
 *
 * @example
 * const watcher = watchRewards(config, { onChange: (s, gained) => log(`+${gained}, claimable ${s.claimable}`) })
 * watcher.stop()
 */
export function watchRewards(
  config: SupporterConfig,
  options: {
    every?: number
    onChange: (status: SupporterStatus, gained: bigint) => void
    onError?: (error: Error) => void
  },
) {
  let last: bigint | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  const tick = async () => {
    try {
      const status = await supporterStatus(config)
      if (last !== undefined && status.claimable !== last)
        options.onChange(status, status.claimable - last)
      last = status.claimable
    } catch (error) {
      options.onError?.(error instanceof Error ? error : new Error(String(error)))
    }
    if (!stopped) timer = setTimeout(tick, options.every ?? 1_000)
  }
  void tick()
  return {
    stop() {
      stopped = true
      clearTimeout(timer)
    },
  }
}

/**
 * Claims the supporter's rewards of every settlement so far.
 *
 * @example
 * const { amount } = await claimRewards(config)
 */
export async function claimRewards(config: SupporterConfig) {
  const contract = contractOf(config)
  const { txHash, gasUsed, events } = await mined(contract, contract.claimRewards(config.assetId))
  const amount = events.find((e) => e.name === 'RewardsClaimed')?.args.amount as bigint
  return { amount, txHash, gasUsed }
}

/**
 * Moves `amount` of active stake (default: all of it) to unbonding: it stops earning at once
 * and can be withdrawn once the asset's unbonding delay has passed.
 *
 * @example
 * const { unbondingEnd } = await requestUnstake(config)
 */
export async function requestUnstake(config: SupporterConfig, amount?: bigint) {
  const contract = contractOf(config)
  const address = await config.signer.getAddress()
  const value = amount ?? (await contract.stakeOf(config.assetId, address)).active
  const { txHash, events } = await mined(contract, contract.requestUnstake(config.assetId, value))
  const end = events.find((e) => e.name === 'UnstakeRequested')?.args.unbondingEnd as bigint
  return { amount: value, unbondingEnd: Number(end), txHash }
}

/**
 * Withdraws everything unbonding whose delay has passed.
 *
 * @example
 * const { amount } = await withdraw(config)
 */
export async function withdraw(config: SupporterConfig) {
  const contract = contractOf(config)
  const { txHash, events } = await mined(contract, contract['withdraw(bytes32)'](config.assetId))
  const amount = events.find((e) => e.name === 'Withdrawn')?.args.amount as bigint
  return { amount, txHash }
}

/**
 * Waits until the chain's clock reaches `timestamp` (unix seconds), polling the latest block:
 * what a supporter does on a real chain between `requestUnstake` and `withdraw`.
 *
 * @example
 * await waitForChainTime(provider, unbondingEnd)
 */
export async function waitForChainTime(
  signer: Signer,
  timestamp: number,
  pollMs = 15_000,
): Promise<void> {
  for (;;) {
    const block = await signer.provider!.getBlock('latest')
    if (block && block.timestamp >= timestamp) return
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}

/**
 * The end of a supporter's stake: request unstake, wait out the unbonding delay, withdraw.
 * `waitUntil` defaults to {@link waitForChainTime}; on anvil pass one that moves the clock
 * (`evm_increaseTime`) instead of waiting days.
 *
 * @example
 * await unstakeAndWithdraw(config, { waitUntil: (end) => anvil.increaseTime(end - now) })
 */
export async function unstakeAndWithdraw(
  config: SupporterConfig,
  options: { amount?: bigint; waitUntil?: (unbondingEnd: number) => Promise<void> } = {},
) {
  const requested = await requestUnstake(config, options.amount)
  await (options.waitUntil ?? ((end) => waitForChainTime(config.signer, end)))(
    requested.unbondingEnd,
  )
  const withdrawn = await withdraw(config)
  return { requested: requested.amount, unbondingEnd: requested.unbondingEnd, ...withdrawn }
}
