import { Contract, type ContractRunner } from 'ethers'
import { feeOnTransferTokenAbi } from './artifacts/FeeOnTransferToken.js'
import { phantomPermitTokenAbi } from './artifacts/PhantomPermitToken.js'
import { rebasingTokenAbi } from './artifacts/RebasingToken.js'
import { testTokenAbi } from './artifacts/TestToken.js'
import type { TestTokenContract } from './types.js'

/**
 * Which test token: plain ERC-20 (with EIP-2612 permit), 1% fee on transfer, rebasing, or
 * phantom permit (no `permit`, a fallback that accepts any call, like WETH).
 */
export type TestTokenKind = 'plain' | 'feeOnTransfer' | 'rebasing' | 'phantomPermit'

/** The ABI of a test token kind. */
export function testTokenAbiOf(kind: TestTokenKind) {
  return kind === 'plain'
    ? testTokenAbi
    : kind === 'feeOnTransfer'
      ? feeOnTransferTokenAbi
      : kind === 'rebasing'
        ? rebasingTokenAbi
        : phantomPermitTokenAbi
}

/**
 * A test token at `address`, as a typed ethers v6 contract.
 *
 * @example
 * const token = getTestTokenContract(address, wallet)
 * await (await token.mint(wallet.address, 1_000_000n)).wait()
 */
export function getTestTokenContract(
  address: string,
  runner: ContractRunner | null = null,
  kind: TestTokenKind = 'plain',
): TestTokenContract {
  return new Contract(address, testTokenAbiOf(kind), runner) as unknown as TestTokenContract
}
