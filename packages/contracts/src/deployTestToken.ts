import { ContractFactory, type ContractTransactionReceipt, type Signer } from 'ethers'
import { feeOnTransferTokenBytecode } from './artifacts/FeeOnTransferToken.js'
import { phantomPermitTokenBytecode } from './artifacts/PhantomPermitToken.js'
import { rebasingTokenBytecode } from './artifacts/RebasingToken.js'
import { testTokenBytecode } from './artifacts/TestToken.js'
import { TransactionNotMinedError } from './errors.js'
import { getTestTokenContract, type TestTokenKind, testTokenAbiOf } from './getTestTokenContract.js'
import type { TestTokenContract } from './types.js'

export type DeployTestTokenParameters = {
  /**
   * `plain` (default): an OpenZeppelin ERC-20; `feeOnTransfer`: every transfer burns 1% on the
   * way; `rebasing`: `rebase(bps)` moves every balance by a percentage; `phantomPermit`: no
   * `permit`, and a fallback that accepts any call (like WETH). The last three have 6 decimals
   * and a fixed name.
   */
  kind?: TestTokenKind
  name?: string
  symbol?: string
  /** Decimals of the plain token (default 6, like USDC). */
  decimals?: number
}

export type DeployTestTokenReturnType = {
  address: string
  /** The deployed token, connected to the deployer. */
  contract: TestTokenContract
  receipt: ContractTransactionReceipt
}

/**
 * Deploys a test token anyone can mint: for tests and demos only.
 *
 * @example
 * const { contract: token } = await deployTestToken(deployer, { name: 'Test USD', symbol: 'tUSD', decimals: 6 })
 * await (await token.mint(alice.address, 1_000_000_000n)).wait()
 * const { contract: fot } = await deployTestToken(deployer, { kind: 'feeOnTransfer' })
 */
export async function deployTestToken(
  signer: Signer,
  parameters: DeployTestTokenParameters = {},
): Promise<DeployTestTokenReturnType> {
  const { kind = 'plain', name = 'Test USD', symbol = 'tUSD', decimals = 6 } = parameters
  const bytecode =
    kind === 'plain'
      ? testTokenBytecode
      : kind === 'feeOnTransfer'
        ? feeOnTransferTokenBytecode
        : kind === 'rebasing'
          ? rebasingTokenBytecode
          : phantomPermitTokenBytecode
  const factory = new ContractFactory(testTokenAbiOf(kind), bytecode, signer)
  const deployed = await (kind === 'plain'
    ? factory.deploy(name, symbol, decimals)
    : factory.deploy())
  const receipt = await deployed.deploymentTransaction()?.wait()
  if (!receipt) throw new TransactionNotMinedError({ transaction: 'test token deployment' })
  const address = await deployed.getAddress()
  return { address, contract: getTestTokenContract(address, signer, kind), receipt }
}
