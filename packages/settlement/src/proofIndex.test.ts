import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, type Hex, rebateLeaf, verifyMerkleProof, zeroHash } from '@rma/core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { BatchFile } from './batchFile.js'
import { epochRebateTree } from './batchFile.js'
import { SettlementError } from './errors.js'
import { createProofIndex, proofIndexPath, readProofIndex, writeProofIndex } from './proofIndex.js'

const assetId = `0x${'a1'.repeat(32)}` as Hex
const batchHash = `0x${'b2'.repeat(32)}` as Hex
const users = Array.from({ length: 5 }, (_, i) => `0x${`${i + 1}`.repeat(40)}` as Address)
let dir: string

function fileOf(amounts: bigint[]): BatchFile {
  const rebates = users.map((user, i) => ({ user, amount: `${amounts[i]}` }))
  return {
    assetId,
    epoch: 4,
    rebates,
    rebateRoot: epochRebateTree(rebates)?.root ?? zeroHash,
  } as BatchFile
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rma-proof-index-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('proof index', () => {
  test("every user's proof verifies against the epoch's root, and only its own amount does", async () => {
    const file = fileOf([10n, 20n, 30n, 40n, 50n])
    const path = await writeProofIndex(dir, createProofIndex(file, batchHash))
    expect(path).toBe(proofIndexPath(dir, assetId, batchHash))
    const index = await readProofIndex(path, { epoch: 4, rebateRoot: file.rebateRoot })
    for (const [i, user] of users.entries()) {
      const line = index.rebates[user.toLowerCase()]!
      expect(line.amount).toBe(`${(i + 1) * 10}`)
      const root = file.rebateRoot
      expect(
        verifyMerkleProof({ root, leaf: rebateLeaf(user, BigInt(line.amount)), proof: line.proof }),
      ).toBe(true)
      // A user asking for more than its line fails the same proof.
      expect(
        verifyMerkleProof({
          root,
          leaf: rebateLeaf(user, BigInt(line.amount) + 1n),
          proof: line.proof,
        }),
      ).toBe(false)
    }
  })

  test('writing the index of the same batch twice writes the same bytes', async () => {
    const file = fileOf([1n, 2n, 3n, 4n, 5n])
    const path = await writeProofIndex(dir, createProofIndex(file, batchHash))
    const first = await readFile(path, 'utf8')
    await writeProofIndex(dir, createProofIndex(file, batchHash))
    expect(await readFile(path, 'utf8')).toBe(first)
  })

  test('a missing index or the index of another epoch is a typed error', async () => {
    const missing = proofIndexPath(dir, assetId, `0x${'cc'.repeat(32)}` as Hex)
    await expect(readProofIndex(missing, { epoch: 4 })).rejects.toBeInstanceOf(SettlementError)
    await expect(readProofIndex(missing, { epoch: 4 })).rejects.toMatchObject({
      code: 'PROOF_INDEX',
      shortMessage: 'The proof index of epoch 4 cannot be read.',
    })
    const path = await writeProofIndex(
      dir,
      createProofIndex(fileOf([1n, 1n, 1n, 1n, 1n]), batchHash),
    )
    await expect(readProofIndex(path, { epoch: 5 })).rejects.toMatchObject({ code: 'PROOF_INDEX' })
  })
})
