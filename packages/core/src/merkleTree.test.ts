import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { getAddress } from 'ethers'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  DuplicateLeafError,
  EmptyTreeError,
  InvalidFieldError,
  LeafNotFoundError,
} from './errors.js'
import {
  createRebateTree,
  createReceiptsTree,
  type RebateEntry,
  rebateLeaf,
  receiptLeaf,
  verifyMerkleProof,
} from './merkleTree.js'
import { thrown } from './testing/thrown.js'
import type { Address, Hex } from './types.js'

const hexOf = (bytes: number) =>
  fc
    .uint8Array({ minLength: bytes, maxLength: bytes })
    .map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex)
const bytes32 = hexOf(32)
/** Addresses in lowercase or EIP-55 checksum case. */
const address = fc
  .tuple(hexOf(20), fc.boolean())
  .map(([a, checksum]) => (checksum ? getAddress(a) : a) as Address)
const amount = fc.oneof(
  fc.bigInt({ min: 0n, max: 10n ** 24n }),
  fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
)
const receiptHashes = fc.uniqueArray(bytes32, { minLength: 1, maxLength: 200 })
const rebateEntries = fc.uniqueArray(fc.record({ user: address, cumulativeAmount: amount }), {
  minLength: 1,
  maxLength: 200,
  selector: (e) => e.user.toLowerCase(),
})

const receiptEncoding = ['bytes32']
const rebateEncoding = ['address', 'uint256']

/** Flips one bit of one byte of a 0x-hex string. */
function flipBit(hex: Hex, byte: number, bit: number): Hex {
  const bytes = Buffer.from(hex.slice(2), 'hex')
  bytes[byte % bytes.length]! ^= 1 << bit
  return `0x${bytes.toString('hex')}`
}

describe('createReceiptsTree matches OpenZeppelin StandardMerkleTree', () => {
  test('root, leaves, proofs and dump for random sets of 1..200 receipt hashes', () => {
    fc.assert(
      fc.property(receiptHashes, (hashes) => {
        const ours = createReceiptsTree(hashes)
        const oz = StandardMerkleTree.of(
          hashes.map((h) => [h]),
          receiptEncoding,
        )
        expect(ours.root).toBe(oz.root)
        expect(ours.length).toBe(hashes.length)
        expect(ours.leafEncoding).toEqual(receiptEncoding)
        expect(ours.dump()).toEqual(oz.dump())
        for (const hash of hashes) {
          const proof = ours.getProof(hash)
          expect(ours.leafHash(hash)).toBe(oz.leafHash([hash]))
          expect(proof).toEqual(oz.getProof([hash]))
          expect(verifyMerkleProof({ root: ours.root, leaf: receiptLeaf(hash), proof })).toBe(true)
          expect(StandardMerkleTree.verify(ours.root, receiptEncoding, [hash], proof)).toBe(true)
        }
        const loaded = StandardMerkleTree.load(ours.dump())
        loaded.validate()
        expect(loaded.root).toBe(ours.root)
      }),
      { numRuns: 100 },
    )
  })

  test('mixed-case hashes are the same bytes: same root, and the dump is lowercase', () => {
    const hashes = fc.sample(receiptHashes, { numRuns: 1, seed: 42 })[0]!
    const upper = hashes.map((h) => `0x${h.slice(2).toUpperCase()}` as Hex)
    const tree = createReceiptsTree(upper)
    expect(tree.root).toBe(createReceiptsTree(hashes).root)
    expect(tree.dump().values.map((v) => v.value[0])).toEqual(hashes)
    expect(tree.getProof(hashes[0]!)).toEqual(tree.getProof(upper[0]!))
  })

  test('duplicate receipt hashes give the same tree as OpenZeppelin', () => {
    const [a, b] = fc.sample(bytes32, { numRuns: 2, seed: 3 }) as [Hex, Hex]
    const hashes = [a, b, a]
    const ours = createReceiptsTree(hashes)
    const oz = StandardMerkleTree.of(
      hashes.map((h) => [h]),
      receiptEncoding,
    )
    expect(ours.root).toBe(oz.root)
    expect(ours.dump()).toEqual(oz.dump())
    expect(StandardMerkleTree.verify(ours.root, receiptEncoding, [a], ours.getProof(a))).toBe(true)
    StandardMerkleTree.load(ours.dump()).validate()
  })
})

describe('createRebateTree matches OpenZeppelin StandardMerkleTree', () => {
  test('root, leaves, proofs and dump for random sets of 1..200 (user, cumulativeAmount)', () => {
    fc.assert(
      fc.property(rebateEntries, (entries) => {
        const ours = createRebateTree(entries)
        const oz = StandardMerkleTree.of<(string | bigint)[]>(
          entries.map((e) => [e.user.toLowerCase(), e.cumulativeAmount.toString()]),
          rebateEncoding,
        )
        expect(ours.root).toBe(oz.root)
        expect(ours.length).toBe(entries.length)
        expect(ours.leafEncoding).toEqual(rebateEncoding)
        expect(ours.dump()).toEqual(oz.dump())
        for (const entry of entries) {
          const value = [entry.user, entry.cumulativeAmount]
          const proof = ours.getProof(ours.entry(entry.user))
          expect(ours.leafHash(entry)).toBe(oz.leafHash(value))
          expect(rebateLeaf(entry.user, entry.cumulativeAmount)).toBe(oz.leafHash(value))
          expect(proof).toEqual(oz.getProof(value))
          expect(
            verifyMerkleProof({
              root: ours.root,
              leaf: rebateLeaf(entry.user, entry.cumulativeAmount),
              proof,
            }),
          ).toBe(true)
          expect(StandardMerkleTree.verify(ours.root, rebateEncoding, value, proof)).toBe(true)
        }
        const loaded = StandardMerkleTree.load(ours.dump())
        loaded.validate()
        expect(loaded.root).toBe(ours.root)
      }),
      { numRuns: 100 },
    )
  })

  test('entry() finds a user in any letter case', () => {
    const entries = fc.sample(rebateEntries, { numRuns: 1, seed: 11 })[0]!
    const tree = createRebateTree(entries)
    for (const entry of entries) {
      expect(tree.entry(entry.user.toLowerCase() as Address)).toBe(entry)
      expect(tree.entry(getAddress(entry.user) as Address)).toBe(entry)
    }
  })
})

describe('tampering is rejected', () => {
  test('a flipped bit in any proof element, a wrong amount, a foreign proof', () => {
    const twoOrMore = fc.uniqueArray(fc.record({ user: address, cumulativeAmount: amount }), {
      minLength: 2,
      maxLength: 32,
      selector: (e) => e.user.toLowerCase(),
    })
    fc.assert(
      fc.property(
        twoOrMore,
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (entries, i, j, bit) => {
          const tree = createRebateTree(entries)
          const entry = entries[i % entries.length]!
          const other = entries[(i + 1) % entries.length]!
          const proof = tree.getProof(entry)
          const leaf = rebateLeaf(entry.user, entry.cumulativeAmount)
          const value = [entry.user, entry.cumulativeAmount]

          const k = j % proof.length
          const tampered = proof.map((p, n) => (n === k ? flipBit(p, j >> 3, bit) : p))
          expect(verifyMerkleProof({ root: tree.root, leaf, proof: tampered })).toBe(false)
          expect(StandardMerkleTree.verify(tree.root, rebateEncoding, value, tampered)).toBe(false)

          // a different amount, also when the drawn one is the largest uint256
          const more =
            entry.cumulativeAmount === (1n << 256n) - 1n
              ? entry.cumulativeAmount - 1n
              : entry.cumulativeAmount + 1n
          expect(
            verifyMerkleProof({ root: tree.root, leaf: rebateLeaf(entry.user, more), proof }),
          ).toBe(false)
          expect(
            StandardMerkleTree.verify(tree.root, rebateEncoding, [entry.user, more], proof),
          ).toBe(false)

          expect(verifyMerkleProof({ root: tree.root, leaf, proof: tree.getProof(other) })).toBe(
            false,
          )
          expect(verifyMerkleProof({ root: tree.root, leaf, proof: proof.slice(1) })).toBe(false)
          expect(verifyMerkleProof({ root: flipBit(tree.root, j, bit), leaf, proof })).toBe(false)
          // a fresh root over the same values accepts the untampered proof (sanity of the checks above)
          expect(verifyMerkleProof({ root: createRebateTree(entries).root, leaf, proof })).toBe(
            true,
          )
        },
      ),
      { numRuns: 200 },
    )
  })

  test('malformed leaves, roots and proof elements are rejected without throwing', () => {
    const hashes = fc.sample(receiptHashes, { numRuns: 1, seed: 5 }).find((h) => h.length > 1) ?? [
      `0x${'01'.repeat(32)}` as Hex,
      `0x${'02'.repeat(32)}` as Hex,
    ]
    const tree = createReceiptsTree(hashes)
    const leaf = receiptLeaf(hashes[0]!)
    const proof = tree.getProof(hashes[0]!)
    expect(verifyMerkleProof({ root: tree.root, leaf, proof })).toBe(true)
    expect(
      verifyMerkleProof({ root: tree.root.toUpperCase().replace('0X', '0x') as Hex, leaf, proof }),
    ).toBe(true)
    expect(verifyMerkleProof({ root: tree.root, leaf: '0x1234', proof })).toBe(false)
    expect(verifyMerkleProof({ root: tree.root, leaf: `0x${'zz'.repeat(32)}`, proof })).toBe(false)
    expect(
      verifyMerkleProof({ root: tree.root, leaf, proof: [...proof.slice(0, -1), '0x00'] }),
    ).toBe(false)
    expect(verifyMerkleProof({ root: '0x' as Hex, leaf, proof })).toBe(false)
    // the leaf must be the double-hashed leaf, not the receipt hash itself
    expect(verifyMerkleProof({ root: tree.root, leaf: hashes[0]!, proof })).toBe(false)
  })
})

describe('edge cases', () => {
  test('a single-leaf tree: the root is the leaf and the proof is empty', () => {
    const hash = `0x${'ab'.repeat(32)}` as Hex
    const tree = createReceiptsTree([hash])
    const oz = StandardMerkleTree.of([[hash]], receiptEncoding)
    expect(tree.root).toBe(receiptLeaf(hash))
    expect(tree.root).toBe(oz.root)
    expect(tree.getProof(hash)).toEqual([])
    expect(verifyMerkleProof({ root: tree.root, leaf: receiptLeaf(hash), proof: [] })).toBe(true)
    expect(tree.dump()).toEqual(oz.dump())

    const user = getAddress(`0x${'cd'.repeat(20)}`) as Address
    const rebates = createRebateTree([{ user, cumulativeAmount: 150n }])
    expect(rebates.root).toBe(StandardMerkleTree.of([[user, 150n]], rebateEncoding).root)
    expect(rebates.getProof(rebates.entry(user))).toEqual([])
  })

  test('an empty tree throws EMPTY_TREE', () => {
    for (const create of [() => createReceiptsTree([]), () => createRebateTree([])]) {
      const error = thrown(create)
      expect(error).toBeInstanceOf(EmptyTreeError)
      expect(error).toMatchObject({
        code: 'EMPTY_TREE',
        message: 'A Merkle tree needs at least one leaf.',
      })
    }
  })

  test('a user twice in the rebate tree throws DUPLICATE_LEAF, also in another letter case', () => {
    const user = `0x${'ab'.repeat(20)}` as Address
    const upper = `0x${'AB'.repeat(20)}` as Address
    const error = thrown(() =>
      createRebateTree([
        { user, cumulativeAmount: 1n },
        { user: upper, cumulativeAmount: 2n },
      ]),
    )
    expect(error).toBeInstanceOf(DuplicateLeafError)
    expect(error).toMatchObject({
      code: 'DUPLICATE_LEAF',
      message: `User ${upper} appears twice in the rebate tree.`,
    })
  })

  test('entry() of an unknown user and getProof() of a value not in the tree throw LeafNotFoundError', () => {
    const user = `0x${'11'.repeat(20)}` as Address
    const stranger = `0x${'22'.repeat(20)}` as Address
    const tree = createRebateTree([{ user, cumulativeAmount: 5n }])
    const error = thrown(() => tree.entry(stranger))
    expect(error).toBeInstanceOf(LeafNotFoundError)
    expect(error).toMatchObject({
      name: 'LeafNotFoundError',
      code: 'LEAF_NOT_FOUND',
      message: `Leaf ${stranger} is not in the tree.`,
    })

    const wrongAmount: RebateEntry = { user, cumulativeAmount: 6n }
    const proofError = thrown(() => tree.getProof(wrongAmount))
    expect(proofError).toBeInstanceOf(LeafNotFoundError)
    expect(proofError).toMatchObject({
      message: `Leaf ${rebateLeaf(user, 6n)} is not in the tree.`,
    })

    const receipts = createReceiptsTree([`0x${'01'.repeat(32)}`])
    expect(() => receipts.getProof(`0x${'02'.repeat(32)}`)).toThrow(LeafNotFoundError)
  })

  test('malformed values throw InvalidFieldError', () => {
    const receiptError = thrown(() => createReceiptsTree(['0x1234']))
    expect(receiptError).toBeInstanceOf(InvalidFieldError)
    expect(receiptError).toMatchObject({ field: 'receiptHash', code: 'INVALID_FIELD' })

    const user = `0x${'11'.repeat(20)}` as Address
    expect(thrown(() => createRebateTree([{ user, cumulativeAmount: -1n }]))).toMatchObject({
      name: 'InvalidFieldError',
      field: 'cumulativeAmount',
    })
    expect(thrown(() => rebateLeaf(user, 1n << 256n))).toMatchObject({
      name: 'InvalidFieldError',
      field: 'cumulativeAmount',
    })
    expect(thrown(() => rebateLeaf('0x1111', 1n))).toMatchObject({
      name: 'InvalidFieldError',
      field: 'user',
    })
  })
})
