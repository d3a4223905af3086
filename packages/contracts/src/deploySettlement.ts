import { ContractFactory, type ContractTransactionReceipt, type Signer } from 'ethers'
import { rmaSettlementAbi, rmaSettlementBytecode } from './artifacts/RMASettlement.js'
import { getSettlementContract } from './getSettlementContract.js'
import type { RmaSettlementContract } from './types.js'

export type DeploySettlementParameters = {
  /** The owner, who receives protocol fees (default: the deployer). */
  owner?: string
}

export type DeploySettlementReturnType = {
  address: string
  /** The deployed contract, connected to the deployer. */
  contract: RmaSettlementContract
  receipt: ContractTransactionReceipt
}

/**
 * Deploys `RMASettlement` and waits for the deployment to be mined.
 *
 * @example
 * const { address, contract } = await deploySettlement(deployer, { owner: treasury.address })
 */
export async function deploySettlement(
  signer: Signer,
  parameters: DeploySettlementParameters = {},
): Promise<DeploySettlementReturnType> {
  const owner = parameters.owner ?? (await signer.getAddress())
  const factory = new ContractFactory(rmaSettlementAbi, rmaSettlementBytecode, signer)
  const deployed = await factory.deploy(owner)
  const receipt = await deployed.deploymentTransaction()?.wait()
  if (!receipt) throw new Error('The settlement contract deployment was not mined.')
  const address = await deployed.getAddress()
  return { address, contract: getSettlementContract(address, signer), receipt }
}
