import {
  DuplicateLeafError,
  EmptyTreeError,
  InvalidFieldError,
  LeafNotFoundError,
} from './errors.js'
import { toHex, writeHex } from './internal/bytes.js'
import { keccak, keccakHex } from './internal/keccak.js'
import { buildTree, processProof, proofOf } from './internal/merkle.js'
import type { Address, Hex } from './types.js'

/** One cumulative rebate: everything `user` may have claimed up to and including this batch. */
export type RebateEntry = { user: Address; cumulativeAmount: bigint }

/**
 * A Merkle tree in the format of OpenZeppelin's `StandardMerkleTree`: leaves are
 * `keccak256(keccak256(abi.encode(values)))`, sorted; pairs are hashed sorted. Its root and
 * proofs verify with Solidity's `MerkleProof.verify`, and `dump()` loads in
 * `StandardMerkleTree.load`.
 */
export type MerkleTree<V> = {
  readonly root: Hex
  readonly leafEncoding: readonly string[]
  readonly length: number
  /** The proof of a value's leaf; throws {@link LeafNotFoundError} for a value not in the tree. */
  getProof(value: V): Hex[]
  /** The leaf hash of a value. */
  leafHash(value: V): Hex
  /** OpenZeppelin's `standard-v1` JSON dump (amounts as decimal strings). */
  dump(): {
    format: 'standard-v1'
    leafEncoding: string[]
    tree: Hex[]
    values: { value: string[]; treeIndex: number }[]
  }
}

/**
 * The tree of a batch's receipt hashes (leaf encoding `bytes32`).
 *
 * @example
 * const tree = createReceiptsTree(receipts.map((r) => hashReceipt(r, domain)))
 * tree.root // goes on chain as receiptsRoot
 */
export function createReceiptsTree(receiptHashes: readonly Hex[]): MerkleTree<Hex> {
  return createTree(['bytes32'], receiptHashes, receiptLeaf, (h) => [h.toLowerCase()])
}

/**
 * The tree of cumulative rebates (leaf encoding `address, uint256`). One user appears once.
 *
 * @example
 * const tree = createRebateTree([{ user, cumulativeAmount: 150n }])
 * const proof = tree.getProof(tree.entry(user))
 */
export function createRebateTree(entries: readonly RebateEntry[]): MerkleTree<RebateEntry> & {
  /** The entry of a user; throws {@link LeafNotFoundError} when the user has none. */
  entry(user: Address): RebateEntry
} {
  const byUser = new Map<string, RebateEntry>()
  for (const entry of entries) {
    const key = entry.user.toLowerCase()
    if (byUser.has(key))
      throw new DuplicateLeafError({
        shortMessage: `User ${entry.user} appears twice in the rebate tree.`,
      })
    byUser.set(key, entry)
  }
  const tree = createTree(
    ['address', 'uint256'],
    entries,
    (e) => rebateLeaf(e.user, e.cumulativeAmount),
    (e) => [e.user.toLowerCase(), e.cumulativeAmount.toString()],
  )
  return {
    ...tree,
    entry(user) {
      const found = byUser.get(user.toLowerCase())
      if (!found) throw new LeafNotFoundError({ leaf: user })
      return found
    },
  }
}

/**
 * The leaf of a receipt hash: keccak256(keccak256(hash)).
 *
 * @example
 * verifyMerkleProof({ root, leaf: receiptLeaf(hash), proof })
 */
export function receiptLeaf(receiptHash: Hex): Hex {
  const encoded = new Uint8Array(32)
  if (!writeHex(encoded, 0, receiptHash, 32))
    throw new InvalidFieldError({
      field: 'receiptHash',
      expected: 'hex of 32 bytes',
      value: receiptHash,
    })
  return keccakHex(keccak(encoded))
}

/**
 * The leaf of a cumulative rebate: keccak256(keccak256(abi.encode(user, cumulativeAmount))),
 * the leaf the settlement contract rebuilds in `claimRebate`.
 *
 * @example
 * verifyMerkleProof({ root: rebateRoot, leaf: rebateLeaf(user, 150n), proof })
 */
export function rebateLeaf(user: Address, cumulativeAmount: bigint): Hex {
  const encoded = new Uint8Array(64)
  if (!writeHex(encoded, 12, user, 20))
    throw new InvalidFieldError({ field: 'user', expected: 'hex of 20 bytes', value: user })
  if (
    typeof cumulativeAmount !== 'bigint' ||
    cumulativeAmount < 0n ||
    cumulativeAmount >= 1n << 256n
  )
    throw new InvalidFieldError({
      field: 'cumulativeAmount',
      expected: 'a uint256 bigint',
      value: cumulativeAmount,
    })
  writeHex(encoded, 32, `0x${cumulativeAmount.toString(16).padStart(64, '0')}`, 32)
  return keccakHex(keccak(encoded))
}

/**
 * Whether `proof` leads from `leaf` to `root` (sorted-pair hashing, as OpenZeppelin's
 * `MerkleProof.verify`).
 *
 * @example
 * verifyMerkleProof({ root: tree.root, leaf: tree.leafHash(value), proof: tree.getProof(value) }) // true
 */
export function verifyMerkleProof(parameters: {
  root: Hex
  leaf: Hex
  proof: readonly Hex[]
}): boolean {
  const { root, leaf, proof } = parameters
  const start = new Uint8Array(32)
  if (!writeHex(start, 0, leaf, 32)) return false
  const check = new Uint8Array(32)
  if (proof.some((p) => !writeHex(check, 0, p, 32))) return false
  return toHex(processProof(start, proof)) === root.toLowerCase()
}

/**
 * A StandardMerkleTree-format tree of arbitrary values (the shared builder of every tree
 * here). Internal to @rma/core: not exported from the package.
 */
export function createTree<V>(
  leafEncoding: string[],
  values: readonly V[],
  leafOf: (value: V) => Hex,
  encode: (value: V) => string[],
): MerkleTree<V> {
  if (values.length === 0)
    throw new EmptyTreeError({ shortMessage: 'A Merkle tree needs at least one leaf.' })
  const leaves = values.map((value, valueIndex) => ({ hex: leafOf(value), valueIndex }))
  const bytes = new Map(leaves.map((l) => [l.hex, Buffer.from(l.hex.slice(2), 'hex')]))
  leaves.sort((a, b) => Buffer.compare(bytes.get(a.hex)!, bytes.get(b.hex)!))
  const tree = buildTree(leaves.map((l) => bytes.get(l.hex)!))
  const treeIndex = new Map<Hex, number>()
  const valueTreeIndex = new Array<number>(values.length)
  leaves.forEach((leaf, i) => {
    treeIndex.set(leaf.hex, tree.length - 1 - i)
    valueTreeIndex[leaf.valueIndex] = tree.length - 1 - i
  })
  return {
    root: toHex(tree[0]!),
    leafEncoding,
    length: values.length,
    leafHash: leafOf,
    getProof(value) {
      const hex = leafOf(value)
      const index = treeIndex.get(hex)
      if (index === undefined) throw new LeafNotFoundError({ leaf: hex })
      return proofOf(tree, index)
    },
    dump() {
      return {
        format: 'standard-v1',
        leafEncoding: [...leafEncoding],
        tree: tree.map((node) => toHex(node)),
        values: values.map((value, i) => ({ value: encode(value), treeIndex: valueTreeIndex[i]! })),
      }
    },
  }
}
