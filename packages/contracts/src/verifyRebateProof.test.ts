import type { Address } from '@rma/core'
import { expect, test } from 'vitest'
import { epochTree, mined, settleArgs, useSettlementFixture } from '../test/helpers.js'
import { verifyRebateProof } from './verifyRebateProof.js'

const ctx = useSettlementFixture()

test('accepts exactly the proofs claimRebate accepts against the stored root', async () => {
  const { settlement, assetId, settler, others } = ctx.fx
  const users = others.slice(0, 5).map((w) => w.address as Address)
  const tree = epochTree(users.map((u, i) => [u, BigInt(100 * (i + 1))]))
  await mined(settlement.connect(settler).settle(...settleArgs(assetId, 1, 100_000n, tree.root)))
  const { root } = await settlement.epochRebates(assetId, 1)
  for (const [i, user] of users.entries()) {
    const proof = tree.getProof(tree.entry(user))
    const amount = BigInt(100 * (i + 1))
    expect(verifyRebateProof({ storedRoot: root, user, amount, proof })).toBe(true)
    expect(verifyRebateProof({ storedRoot: root, user, amount: amount + 1n, proof })).toBe(false)
    expect(verifyRebateProof({ storedRoot: root, user: users[(i + 1) % 5]!, amount, proof })).toBe(
      false,
    )
    expect(verifyRebateProof({ storedRoot: root, user, amount, proof: ['0x12'] })).toBe(false)
    // The chain agrees.
    await mined(settlement.claimRebate(assetId, 1, user, amount, proof))
  }
})
