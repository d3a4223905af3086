import { ContractFactory, type ContractTransactionReceipt, type Signer } from 'ethers'
import { rmaSettlementAbi, rmaSettlementBytecode } from './artifacts/RMASettlement.js'
import { getSettlementContract } from './getSettlementContract.js'
import type { RmaSettlementContract } from './types.js'

export type DeploySettlementParameters = {
  /** The owner, who receives protocol fees (default: the deployer). */
  owner?: string
  /**
   * Seconds between a prepaid `requestWithdrawal` and its `withdraw` (1 hour to 30 days,
   * default 1 day; fixed for the contract's life). Rule: at least the longest settlement
   * interval of any asset paid through it plus a margin, so vouchers acked before a request
   * settle before the money can leave.
   */
  withdrawalDelay?: number | bigint
  /**
   * The shortest challenge window (seconds) an asset may choose, and every new asset's window
   * (0 to 7 days, default 0: postpaid batches are claimable at once unless the issuer sets a
   * window; fixed for the contract's life).
   */
  minChallengeWindow?: number | bigint
}

export type DeploySettlementReturnType = {
  address: string
  /** The deployed contract, connected to the deployer. */
  contract: RmaSettlementContract
  receipt: ContractTransactionReceipt
}

/** The prepaid withdrawal delay `deploySettlement` uses unless told: 1 day. */
export const defaultWithdrawalDelay = 24 * 3600

/**
 * Deploys `RMASettlement` and waits for the deployment to be mined.
 *
 * @example
 * const { address, contract } = await deploySettlement(deployer, { owner: treasury.address, withdrawalDelay: 6 * 3600, minChallengeWindow: 3600 })
 */
export async function deploySettlement(
  signer: Signer,
  parameters: DeploySettlementParameters = {},
): Promise<DeploySettlementReturnType> {
  const owner = parameters.owner ?? (await signer.getAddress())
  const factory = new ContractFactory(rmaSettlementAbi, rmaSettlementBytecode, signer)
  const deployed = await factory.deploy(
    owner,
    parameters.withdrawalDelay ?? defaultWithdrawalDelay,
    parameters.minChallengeWindow ?? 0,
  )
  const receipt = await deployed.deploymentTransaction()?.wait()
  if (!receipt) throw new Error('The settlement contract deployment was not mined.')
  const address = await deployed.getAddress()
  return { address, contract: getSettlementContract(address, signer), receipt }
}
