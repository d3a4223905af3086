import { InvalidFieldError } from '@rma/core'

/**
 * The form in which the contract keeps an epoch's rebate root: its first 20 bytes, then 12 zero
 * bytes (the other 12 bytes of the slot hold what is left of the epoch's funding). `epochRebates(...).root`
 * returns this form; compare a tree's root with it through this function. Proofs are checked
 * against the 20 bytes: forging one needs a 160-bit second preimage.
 *
 * @example
 * const { root } = await settlement.epochRebates(assetId, epoch)
 * if (root !== storedRebateRoot(tree.root)) throw new Error('not the published tree')
 */
export function storedRebateRoot(root: string): string {
  if (!/^0x[0-9a-fA-F]{64}$/.test(root))
    throw new InvalidFieldError({ field: 'root', expected: 'a 0x-prefixed bytes32', value: root })
  return `${root.slice(0, 42).toLowerCase()}${'0'.repeat(24)}`
}
