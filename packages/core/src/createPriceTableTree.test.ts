import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { AbiCoder, keccak256 } from 'ethers'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { createPriceTable, type ModelPriceInput } from './createPriceTable.js'
import { createPriceTableRoots } from './createPriceTableRoots.js'
import { createPriceTableTree, priceEntryLeaf } from './createPriceTableTree.js'
import { InvalidFieldError, InvalidPriceTableError, LeafNotFoundError } from './errors.js'
import { zeroHash } from './internal/bytes.js'
import { verifyMerkleProof } from './merkleTree.js'
import { type PriceEntry, priceEntryOf } from './priceEntryOf.js'
import { priceTableVersionAt } from './priceTableVersionAt.js'
import { priceTokens, priceUsage } from './priceUsage.js'
import { thrown } from './testing/thrown.js'

const encoding = ['string', 'uint256', 'uint256', 'uint256', 'uint256', 'uint256']
const ozValue = (e: PriceEntry) => [
  e.model,
  e.input.toString(),
  e.cachedInput.toString(),
  e.cacheWrite.toString(),
  e.output.toString(),
  e.reasoning.toString(),
]

function expectTableError(fn: () => unknown, message: string) {
  const error = thrown(fn)
  expect(error).toBeInstanceOf(InvalidPriceTableError)
  expect(error).toMatchObject({ code: 'INVALID_PRICE_TABLE', shortMessage: message })
}

const table = createPriceTable({
  models: {
    'gpt-4o': [
      { effectiveFrom: 1000, input: 5_000_000n, output: 15_000_000n },
      { effectiveFrom: 2000, input: 2_500_000n, cachedInput: 1_250_000n, output: 10_000_000n },
    ],
    'gpt-4o-mini': [
      { effectiveFrom: 1000, input: 150_000n, cachedInput: 75_000n, output: 600_000n },
    ],
    'claude-sonnet-4': [
      {
        effectiveFrom: 1500,
        input: 3_000_000n,
        cachedInput: 300_000n,
        cacheWrite: 3_750_000n,
        output: 15_000_000n,
      },
    ],
  },
  aliases: { 'my-finetune': 'gpt-4o' },
})

describe('createPriceTableTree', () => {
  test('one leaf per priced name and alias, prices of the version in force at `at`', () => {
    const tree = createPriceTableTree(table, { at: 2500 })
    expect(tree.effectiveFrom).toBe(2000)
    const gpt4o = {
      input: 2_500_000n,
      cachedInput: 1_250_000n,
      cacheWrite: 2_500_000n,
      output: 10_000_000n,
      reasoning: 10_000_000n,
    }
    expect(tree.entries).toEqual([
      {
        model: 'claude-sonnet-4',
        input: 3_000_000n,
        cachedInput: 300_000n,
        cacheWrite: 3_750_000n,
        output: 15_000_000n,
        reasoning: 15_000_000n,
      },
      { model: 'gpt-4o', ...gpt4o },
      {
        model: 'gpt-4o-mini',
        input: 150_000n,
        cachedInput: 75_000n,
        cacheWrite: 150_000n,
        output: 600_000n,
        reasoning: 600_000n,
      },
      { model: 'my-finetune', ...gpt4o },
    ])
    expect(tree.entry('my-finetune')).toEqual({ model: 'my-finetune', ...gpt4o })
  })

  test('a model not yet priced at `at` has no leaf; any time of one version gives the same root', () => {
    const early = createPriceTableTree(table, { at: 1200 })
    expect(early.effectiveFrom).toBe(1000)
    expect(early.entries.map((e) => e.model)).toEqual(['gpt-4o', 'gpt-4o-mini', 'my-finetune'])
    expect(early.entry('gpt-4o').input).toBe(5_000_000n)
    expect(createPriceTableTree(table, { at: 1000 }).root).toBe(early.root)
    expect(createPriceTableTree(table, { at: 1499 }).root).toBe(early.root)
    const mid = createPriceTableTree(table, { at: 1500 })
    expect(mid.root).not.toBe(early.root)
    expect(createPriceTableTree(table, { at: 1999 }).root).toBe(mid.root)
    expect(createPriceTableTree(table, { at: 2000 }).root).not.toBe(mid.root)
    expect(() => early.entry('claude-sonnet-4')).toThrow(LeafNotFoundError)
    expect(() => early.getProof('claude-sonnet-4')).toThrow(LeafNotFoundError)
  })

  test('root, leaves, proofs and dump equal OpenZeppelin StandardMerkleTree', () => {
    const tree = createPriceTableTree(table, { at: 2500 })
    const oz = StandardMerkleTree.of(tree.entries.map(ozValue), encoding)
    expect(tree.root).toBe(oz.root)
    expect(tree.dump()).toEqual(oz.dump())
    for (const entry of tree.entries) {
      const proof = tree.getProof(entry.model)
      expect(tree.leafHash(entry)).toBe(oz.leafHash(ozValue(entry)))
      expect(proof).toEqual(oz.getProof(ozValue(entry)))
      expect(StandardMerkleTree.verify(tree.root, encoding, ozValue(entry), proof)).toBe(true)
      expect(verifyMerkleProof({ root: tree.root, leaf: priceEntryLeaf(entry), proof })).toBe(true)
    }
    StandardMerkleTree.load(tree.dump()).validate()
  })

  test('random tables: same root and proofs as OpenZeppelin', () => {
    const amount = fc.oneof(
      fc.bigInt({ min: 0n, max: 100_000_000n }),
      fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
    )
    const price = fc.record(
      { input: amount, cachedInput: amount, cacheWrite: amount, output: amount, reasoning: amount },
      { requiredKeys: ['input', 'output'] },
    )
    // names without a snapshot suffix, so the snapshot rule never applies; any Unicode, long too
    const name = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 80 })
      .filter((s) => !/-(\d{4}-\d{2}-\d{2}|\d{4})$/.test(s) && s !== '__proto__')
    fc.assert(
      fc.property(fc.dictionary(name, price, { minKeys: 1, maxKeys: 30 }), (models) => {
        const tree = createPriceTableTree(
          createPriceTable({ models: models as Record<string, ModelPriceInput> }),
          { at: 0 },
        )
        const oz = StandardMerkleTree.of(tree.entries.map(ozValue), encoding)
        expect(tree.root).toBe(oz.root)
        for (const entry of tree.entries)
          expect(tree.getProof(entry.model)).toEqual(oz.getProof(ozValue(entry)))
      }),
      { numRuns: 100 },
    )
  }, 60_000)

  test('the leaf is keccak256(keccak256(abi.encode(model, input, cachedInput, cacheWrite, output, reasoning)))', () => {
    const coder = AbiCoder.defaultAbiCoder()
    for (const model of ['', 'gpt-4o', 'x'.repeat(32), 'y'.repeat(33), 'modèle-日本語-🚀']) {
      const entry = {
        model,
        input: 1n,
        cachedInput: 2n,
        cacheWrite: 3n,
        output: (1n << 256n) - 1n,
        reasoning: 0n,
      }
      const encoded = coder.encode(encoding, ozValue(entry))
      expect(priceEntryLeaf(entry)).toBe(keccak256(keccak256(encoded)))
    }
  })

  test('a leaf of a malformed entry is refused with InvalidFieldError', () => {
    const entry = priceEntryOf(table, 'gpt-4o', 2500)
    expect(() => priceEntryLeaf({ ...entry, output: -1n })).toThrow(InvalidFieldError)
    expect(() => priceEntryLeaf({ ...entry, input: 1n << 256n })).toThrow(InvalidFieldError)
    expect(() => priceEntryLeaf({ ...entry, model: '\uD800' })).toThrow(InvalidFieldError)
  })

  test('a snapshot name and its base leaf must price alike', () => {
    const differing = createPriceTable({
      models: {
        'gpt-4o': { input: 2_500_000n, output: 10_000_000n },
        'gpt-4o-2024-05-13': { input: 5_000_000n, output: 15_000_000n },
      },
    })
    expectTableError(
      () => createPriceTableTree(differing, { at: 0 }),
      'Snapshot "gpt-4o-2024-05-13" and its base "gpt-4o" have different prices: a mispricing proof may use the base entry for a snapshot, so both must price alike. Give them the same prices, or rename the snapshot (no -YYYY-MM-DD / -NNNN suffix).',
    )
    // an alias counts as a leaf name too
    const viaAlias = createPriceTable({
      models: {
        base: { input: 1n, output: 1n },
        other: { input: 2n, output: 2n },
      },
      aliases: { 'base-0613': 'other' },
    })
    expectTableError(
      () => createPriceTableTree(viaAlias, { at: 0 }),
      'Snapshot "base-0613" and its base "base" have different prices: a mispricing proof may use the base entry for a snapshot, so both must price alike. Give them the same prices, or rename the snapshot (no -YYYY-MM-DD / -NNNN suffix).',
    )
    // identical prices (or a snapshot whose base is not a leaf) are fine
    const same = createPriceTable({
      models: {
        'gpt-4o': { input: 2_500_000n, output: 10_000_000n },
        'gpt-4o-2024-08-06': { input: 2_500_000n, output: 10_000_000n },
        'o1-2024-12-17': { input: 15_000_000n, output: 60_000_000n },
      },
    })
    expect(createPriceTableTree(same, { at: 0 }).entries).toHaveLength(3)
  })

  test('the snapshot rule checks the version in force at `at` only', () => {
    const versions = createPriceTable({
      models: {
        m: [
          { effectiveFrom: 0, input: 1n, output: 1n },
          { effectiveFrom: 100, input: 2n, output: 2n },
        ],
        'm-0613': { input: 1n, output: 1n },
      },
    })
    expect(createPriceTableTree(versions, { at: 50 }).entries).toHaveLength(2)
    expect(() => createPriceTableTree(versions, { at: 100 })).toThrow(InvalidPriceTableError)
  })

  test('an alias named like a priced model, or a time before any price, is refused', () => {
    const clash = createPriceTable({
      models: { a: { input: 1n, output: 1n }, b: { input: 2n, output: 2n } },
      aliases: { a: 'b' },
    })
    expectTableError(
      () => createPriceTableTree(clash, { at: 0 }),
      'Alias "a" is also a priced model: a name has one leaf. Remove the alias or rename it.',
    )
    expectTableError(
      () => createPriceTableTree(table, { at: 999 }),
      'No price is in force at 999: a price-table tree needs at least one priced model (use a unix time at or after the earliest effectiveFrom).',
    )
    expectTableError(
      () => createPriceTableTree(table, { at: Number.NaN }),
      'No price is in force at NaN: a price-table tree needs at least one priced model (use a unix time at or after the earliest effectiveFrom).',
    )
  })
})

describe('priceEntryOf', () => {
  test('resolves like priceUsage: exact, alias, then snapshot base; the entry is a leaf of the tree', () => {
    const tree = createPriceTableTree(table, { at: 2500 })
    const cases = [
      ['gpt-4o', 'gpt-4o'],
      ['my-finetune', 'my-finetune'],
      ['gpt-4o-2024-08-06', 'gpt-4o'],
      ['my-finetune-2025-01-01', 'my-finetune'],
      ['gpt-4o-mini-0613', 'gpt-4o-mini'],
    ] as const
    const usage = {
      inputTokens: 5000,
      cachedInputTokens: 1000,
      cacheWriteTokens: 2000,
      outputTokens: 700,
      reasoningTokens: 100,
    }
    for (const [model, leaf] of cases) {
      const entry = priceEntryOf(table, model, 2500)
      expect(entry.model).toBe(leaf)
      expect(entry).toEqual(tree.entry(leaf))
      expect(
        verifyMerkleProof({
          root: tree.root,
          leaf: priceEntryLeaf(entry),
          proof: tree.getProof(entry.model),
        }),
      ).toBe(true)
      // the entry prices exactly as the meter does
      expect(priceTokens(entry, usage)).toBe(priceUsage(table, model, usage, { at: 2500 }))
    }
  })

  test('prices of the version in force at `at`; unknown or not yet priced models throw', () => {
    expect(priceEntryOf(table, 'gpt-4o', 1999).input).toBe(5_000_000n)
    expect(priceEntryOf(table, 'gpt-4o', 2000).input).toBe(2_500_000n)
    expect(thrown(() => priceEntryOf(table, 'claude-sonnet-4', 1499))).toMatchObject({
      code: 'UNKNOWN_MODEL',
      model: 'claude-sonnet-4',
    })
    expect(thrown(() => priceEntryOf(table, 'llama', 2500))).toMatchObject({
      code: 'UNKNOWN_MODEL',
      model: 'llama',
    })
  })
})

describe('priceTableVersionAt', () => {
  test('the latest effectiveFrom at or before `at`, over all models', () => {
    expect(priceTableVersionAt(table, 999)).toBeUndefined()
    expect(priceTableVersionAt(table, 1000)).toBe(1000)
    expect(priceTableVersionAt(table, 1700)).toBe(1500)
    expect(priceTableVersionAt(table, 2000)).toBe(2000)
    expect(priceTableVersionAt(table, 9_999_999_999)).toBe(2000)
  })
})

describe('createPriceTableRoots', () => {
  test('one root per version, built once; rootAt follows priceTableVersionAt', () => {
    const roots = createPriceTableRoots(table)
    expect(roots.versions).toEqual(
      [1000, 1500, 2000].map((effectiveFrom) => ({
        effectiveFrom,
        root: createPriceTableTree(table, { at: effectiveFrom }).root,
      })),
    )
    for (const at of [0, 999, 1000, 1200, 1500, 1999, 2000, 10 ** 10]) {
      const version = priceTableVersionAt(table, at)
      expect(roots.rootAt(at)).toBe(
        version === undefined ? zeroHash : createPriceTableTree(table, { at }).root,
      )
    }
  })

  test('a table that cannot be committed is refused at once', () => {
    const differing = createPriceTable({
      models: { m: { input: 1n, output: 1n }, 'm-0613': { input: 2n, output: 2n } },
    })
    expect(() => createPriceTableRoots(differing)).toThrow(InvalidPriceTableError)
  })
})
