import type { Hex } from '../types.js'
import { toHex } from './bytes.js'
import { keccak } from './keccak.js'

/** keccak256 of the two nodes in ascending byte order (OpenZeppelin `MerkleProof` rule). */
export function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  const pair = new Uint8Array(64)
  const ordered = Buffer.compare(a, b) <= 0
  pair.set(ordered ? a : b, 0)
  pair.set(ordered ? b : a, 32)
  return keccak(pair)
}

/**
 * The array layout of OpenZeppelin's `StandardMerkleTree`: a complete binary tree with the
 * root at 0, children of i at 2i+1 and 2i+2, and the sorted leaves filling the end in reverse.
 */
export function buildTree(sortedLeaves: readonly Uint8Array[]): Uint8Array[] {
  const n = sortedLeaves.length
  const tree = new Array<Uint8Array>(2 * n - 1)
  for (let i = 0; i < n; i++) tree[tree.length - 1 - i] = sortedLeaves[i]!
  for (let i = tree.length - 1 - n; i >= 0; i--)
    tree[i] = hashPair(tree[2 * i + 1]!, tree[2 * i + 2]!)
  return tree
}

/** Sibling hashes from a tree index up to the root. */
export function proofOf(tree: readonly Uint8Array[], index: number): Hex[] {
  const proof: Hex[] = []
  while (index > 0) {
    proof.push(toHex(tree[index % 2 === 1 ? index + 1 : index - 1]!))
    index = (index - 1) >> 1
  }
  return proof
}

/** The root a leaf and its proof lead to. */
export function processProof(leaf: Uint8Array, proof: readonly Hex[]): Uint8Array {
  let node = leaf
  for (const sibling of proof) node = hashPair(node, Buffer.from(sibling.slice(2), 'hex'))
  return node
}
