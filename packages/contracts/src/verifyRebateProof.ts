import { type Address, type Hex, rebateLeaf } from '@rma/core'
import { concat, keccak256 } from 'ethers'
import { storedRebateRoot } from './storedRebateRoot.js'

export type VerifyRebateProofParameters = {
  /** `epochRebates(assetId, epoch).root`: the epoch root's first 20 bytes, then zeros. */
  storedRoot: string
  user: Address
  /** The user's rebate of that epoch (its leaf amount). */
  amount: bigint
  proof: readonly Hex[]
}

/**
 * Whether `proof` shows that `user` is owed `amount` in an epoch whose root the contract
 * stores as `storedRoot`: the check `claimRebate` makes (sorted-pair hashing up from
 * `rebateLeaf(user, amount)`, compared on the root's first 20 bytes). Use it to check a proof
 * served by a provider before sending a claim.
 *
 * @example
 * const { root } = await settlement.epochRebates(assetId, epoch)
 * if (!verifyRebateProof({ storedRoot: root, user, amount, proof })) throw new Error('bad proof')
 */
export function verifyRebateProof(parameters: VerifyRebateProofParameters): boolean {
  const { storedRoot, user, amount, proof } = parameters
  let node: string = rebateLeaf(user, amount)
  for (const sibling of proof) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(sibling)) return false
    const [a, b] = BigInt(node) <= BigInt(sibling) ? [node, sibling] : [sibling, node]
    node = keccak256(concat([a, b]))
  }
  return storedRebateRoot(node) === storedRoot.toLowerCase()
}
