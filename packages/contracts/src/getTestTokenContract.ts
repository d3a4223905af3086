import { Contract, type ContractRunner } from 'ethers'
import { testTokenAbi } from './artifacts/TestToken.js'
import type { TestTokenContract } from './types.js'

/**
 * The test token at `address`, as a typed ethers v6 contract.
 *
 * @example
 * const token = getTestTokenContract(address, wallet)
 * await (await token.mint(wallet.address, 1_000_000n)).wait()
 */
export function getTestTokenContract(
  address: string,
  runner: ContractRunner | null = null,
): TestTokenContract {
  return new Contract(address, testTokenAbi, runner) as unknown as TestTokenContract
}
