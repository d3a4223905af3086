import { Contract, type ContractRunner } from 'ethers'

const erc20Abi = [
  'function approve(address spender, uint256 amount) returns (bool)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function balanceOf(address owner) view returns (uint256)',
  'function decimals() view returns (uint8)',
  'function symbol() view returns (string)',
] as const

/**
 * The asset's payment token, as far as the CLI uses it.
 *
 * @example
 * const balance = await erc20(token, provider).balanceOf(address)
 */
export function erc20(address: string, runner: ContractRunner) {
  const token = new Contract(address, erc20Abi, runner)
  return {
    contract: token,
    balanceOf: (owner: string) => token.getFunction('balanceOf')(owner) as Promise<bigint>,
    allowance: (owner: string, spender: string) =>
      token.getFunction('allowance')(owner, spender) as Promise<bigint>,
  }
}
