import { Contract, type ContractRunner } from 'ethers'
import { rmaSettlementAbi } from './artifacts/RMASettlement.js'
import type { RmaSettlementContract } from './types.js'

/**
 * The settlement contract at `address`, as a typed ethers v6 contract.
 *
 * @example
 * const settlement = getSettlementContract(address, wallet)
 * const asset = await settlement.getAsset(assetId)
 * await (await settlement.claimRewards(assetId)).wait()
 */
export function getSettlementContract(
  address: string,
  runner: ContractRunner | null = null,
): RmaSettlementContract {
  return new Contract(address, rmaSettlementAbi, runner) as unknown as RmaSettlementContract
}
