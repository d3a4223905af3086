import { ContractFactory, type ContractTransactionReceipt, type Signer } from 'ethers'
import { testTokenAbi, testTokenBytecode } from './artifacts/TestToken.js'
import { getTestTokenContract } from './getTestTokenContract.js'
import type { TestTokenContract } from './types.js'

export type DeployTestTokenParameters = {
  name?: string
  symbol?: string
  /** Decimals (default 6, like USDC). */
  decimals?: number
}

export type DeployTestTokenReturnType = {
  address: string
  /** The deployed token, connected to the deployer. */
  contract: TestTokenContract
  receipt: ContractTransactionReceipt
}

/**
 * Deploys `TestToken`, an ERC-20 anyone can mint: for tests and demos only.
 *
 * @example
 * const { contract: token } = await deployTestToken(deployer, { name: 'Test USD', symbol: 'tUSD', decimals: 6 })
 * await (await token.mint(alice.address, 1_000_000_000n)).wait()
 */
export async function deployTestToken(
  signer: Signer,
  parameters: DeployTestTokenParameters = {},
): Promise<DeployTestTokenReturnType> {
  const { name = 'Test USD', symbol = 'tUSD', decimals = 6 } = parameters
  const factory = new ContractFactory(testTokenAbi, testTokenBytecode, signer)
  const deployed = await factory.deploy(name, symbol, decimals)
  const receipt = await deployed.deploymentTransaction()?.wait()
  if (!receipt) throw new Error('The test token deployment was not mined.')
  const address = await deployed.getAddress()
  return { address, contract: getTestTokenContract(address, signer), receipt }
}
