import type { PriceTable } from './createPriceTable.js'
import { InvalidFieldError, InvalidPriceTableError, LeafNotFoundError } from './errors.js'
import { MAX_UINT256, writeHex } from './internal/bytes.js'
import { keccak, keccakHex } from './internal/keccak.js'
import { resolvePrice, snapshotBase } from './internal/resolvePrice.js'
import { createTree, type MerkleTree } from './merkleTree.js'
import type { PriceEntry } from './priceEntryOf.js'
import { priceTableVersionAt } from './priceTableVersionAt.js'
import type { Hex } from './types.js'

const utf8 = new TextEncoder()
const leafEncoding = ['string', 'uint256', 'uint256', 'uint256', 'uint256', 'uint256']

export type CreatePriceTableTreeParameters = {
  /** Unix seconds: the tree holds the prices in force at this time. */
  at: number
}

export type PriceTableTree = {
  /** The Merkle root an asset commits on chain and receipts carry as `priceTable`. */
  readonly root: Hex
  /** The version of the table the tree holds (see {@link priceTableVersionAt}). */
  readonly effectiveFrom: number
  /** One entry per priced name and per alias, sorted by name. */
  readonly entries: readonly PriceEntry[]
  /** The entry of a leaf name; throws {@link LeafNotFoundError} for a name with no leaf. */
  entry(model: string): PriceEntry
  /** The Merkle proof of a leaf name's entry (for `proveMispricing`). */
  getProof(model: string): Hex[]
  /** The leaf hash of an entry. */
  leafHash(entry: PriceEntry): Hex
  /** OpenZeppelin's `standard-v1` dump (loads in `StandardMerkleTree.load`). */
  dump(): ReturnType<MerkleTree<PriceEntry>['dump']>
}

/**
 * The Merkle tree of a price-table version, in OpenZeppelin's `StandardMerkleTree` format with
 * leaf encoding `(string model, uint256 input, uint256 cachedInput, uint256 cacheWrite,
 * uint256 output, uint256 reasoning)`: one leaf per priced name and per alias (an alias leaf
 * carries its target's prices), prices of the version in force at `at`.
 *
 * The contract's mispricing proof accepts the leaf of a receipt's exact model or of its name
 * without the snapshot suffix. So that it can never price an honest receipt higher, a snapshot
 * name (`-YYYY-MM-DD` / `-NNNN`) whose base name is also a leaf must have identical prices:
 * otherwise {@link InvalidPriceTableError}. Also refused: an alias named like a priced model,
 * and a time at which nothing is priced.
 *
 * @example
 * const tree = createPriceTableTree(table, { at: priceTableVersionAt(table, now)! })
 * await commitPriceTable(client, { assetId, table, effectiveFrom: tree.effectiveFrom, uri })
 * receipt.priceTable === tree.root
 */
export function createPriceTableTree(
  table: PriceTable,
  parameters: CreatePriceTableTreeParameters,
): PriceTableTree {
  const { at } = parameters
  const effectiveFrom = Number.isSafeInteger(at) ? priceTableVersionAt(table, at) : undefined
  if (effectiveFrom === undefined)
    throw new InvalidPriceTableError({
      shortMessage: `No price is in force at ${String(at)}: a price-table tree needs at least one priced model (use a unix time at or after the earliest effectiveFrom).`,
    })
  for (const alias of table.aliases.keys())
    if (table.models.has(alias))
      throw new InvalidPriceTableError({
        shortMessage: `Alias "${alias}" is also a priced model: a name has one leaf. Remove the alias or rename it.`,
      })
  const byName = new Map<string, PriceEntry>()
  for (const name of [...table.models.keys(), ...table.aliases.keys()]) {
    const resolved = resolvePrice(table, name, at)
    if (!resolved) continue // not priced yet at this version
    byName.set(name, { model: name, ...resolved.price })
  }
  for (const entry of byName.values()) {
    const base = snapshotBase(entry.model)
    const baseEntry = base === entry.model ? undefined : byName.get(base)
    if (baseEntry && !samePrices(entry, baseEntry))
      throw new InvalidPriceTableError({
        shortMessage: `Snapshot "${entry.model}" and its base "${base}" have different prices: a mispricing proof may use the base entry for a snapshot, so both must price alike. Give them the same prices, or rename the snapshot (no -YYYY-MM-DD / -NNNN suffix).`,
      })
  }
  const entries = [...byName.values()].sort((a, b) =>
    a.model < b.model ? -1 : a.model > b.model ? 1 : 0,
  )
  const tree = createTree(leafEncoding, entries, priceEntryLeaf, (e) => [
    e.model,
    ...[e.input, e.cachedInput, e.cacheWrite, e.output, e.reasoning].map(String),
  ])
  const entryOf = (model: string) => {
    const found = byName.get(model)
    if (!found) throw new LeafNotFoundError({ leaf: model })
    return found
  }
  return {
    root: tree.root,
    effectiveFrom,
    entries,
    entry: entryOf,
    getProof: (model) => tree.getProof(entryOf(model)),
    leafHash: priceEntryLeaf,
    dump: () => tree.dump(),
  }
}

/**
 * The leaf of a price entry: `keccak256(keccak256(abi.encode(model, input, cachedInput,
 * cacheWrite, output, reasoning)))`, the leaf the contract rebuilds in `proveMispricing`.
 *
 * @example
 * verifyMerkleProof({ root, leaf: priceEntryLeaf(entry), proof })
 */
export function priceEntryLeaf(entry: PriceEntry): Hex {
  if (typeof entry?.model !== 'string' || !entry.model.isWellFormed())
    throw new InvalidFieldError({
      field: 'model',
      expected: 'a well-formed Unicode string',
      value: entry?.model,
    })
  const name = utf8.encode(entry.model)
  const words = Math.ceil(name.length / 32)
  // head: string offset + 5 uint256; tail: string length + padded bytes
  const encoded = new Uint8Array(32 * (6 + 1 + words))
  encoded[31] = 6 * 32
  const amounts = ['input', 'cachedInput', 'cacheWrite', 'output', 'reasoning'] as const
  amounts.forEach((field, i) => {
    const v = entry[field]
    if (typeof v !== 'bigint' || v < 0n || v > MAX_UINT256)
      throw new InvalidFieldError({ field, expected: 'a bigint in [0, 2^256)', value: v })
    writeHex(encoded, 32 * (i + 1), `0x${v.toString(16).padStart(64, '0')}`, 32)
  })
  writeHex(encoded, 32 * 6, `0x${name.length.toString(16).padStart(64, '0')}`, 32)
  encoded.set(name, 32 * 7)
  return keccakHex(keccak(encoded))
}

function samePrices(a: PriceEntry, b: PriceEntry): boolean {
  return (
    a.input === b.input &&
    a.cachedInput === b.cachedInput &&
    a.cacheWrite === b.cacheWrite &&
    a.output === b.output &&
    a.reasoning === b.reasoning
  )
}
