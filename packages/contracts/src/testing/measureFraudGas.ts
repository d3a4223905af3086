import {
  createDomain,
  createPriceTable,
  createPriceTableTree,
  hashAttestation,
  priceEntryOf,
  priceTokens,
  type RequestAttestation,
  signAttestation,
  signReceipt,
  type UsageReceipt,
} from '@rma/core'
import { keccak256, MaxUint256, toUtf8Bytes } from 'ethers'
import { toAttestationStruct } from '../toAttestationStruct.js'
import { toPriceEntryStruct } from '../toPriceEntryStruct.js'
import { toReceiptStruct } from '../toReceiptStruct.js'
import { deploySettlementFixture } from './deploySettlementFixture.js'
import type { Anvil } from './startAnvil.js'

/** Gas of each fraud proof (`gasUsed` of real transactions: base and calldata included). */
export type FraudGas = {
  /** An overcharge paid from the issuer bond alone. */
  proveOvercharge: bigint
  /** An overcharge whose penalty exceeds the bond: the rest is slashed from 3 supporters' stake. */
  proveOverchargeWithStakeSlash: bigint
  /** Two receipts of one chain position, paid from the bond. */
  proveEquivocation: bigint
  /** A snapshot-named receipt priced above its committed base entry (proof of a 6-leaf tree). */
  proveMispricing: bigint
  /** The issuer's `resume` after restoring the bond. */
  resume: bigint
  /**
   * The issuer's `resume` after the stake-slashing proof: it also records the accumulator the
   * epoch of the slash ends with (one fresh slot), which the proof itself no longer writes.
   */
  resumeAfterStakeSlash: bigint
}

/**
 * Deploys a fixture on `anvil` (a minimum bond of 1,000,000 units, posted) and measures each
 * fraud proof once, on a fresh snapshot, reverting afterwards.
 */
export async function measureFraudGas(anvil: Anvil): Promise<FraudGas> {
  const start = await anvil.snapshot()
  try {
    const fx = await deploySettlementFixture(anvil)
    const { settlement, settlementAddress, assetId, issuer, meter, owner, token } = fx
    const [user, challenger, ...supporters] = fx.others
    if (!user || !challenger || supporters.length < 3)
      throw new Error('measureFraudGas needs at least 9 anvil accounts.')
    const minBond = 1_000_000n
    const wait = async (sent: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) => {
      const receipt = await (await sent).wait()
      if (!receipt) throw new Error('not mined')
      return receipt.gasUsed
    }
    await wait(settlement.connect(owner).setMinBond(fx.tokenAddress, minBond))
    await wait(token.mint(issuer.address, 10n ** 12n))
    await wait(token.connect(issuer).approve(settlementAddress, MaxUint256))
    await wait(settlement.connect(issuer).postBond(assetId, minBond))
    const domain = createDomain({
      chainId: (await anvil.provider.getNetwork()).chainId,
      verifyingContract: settlementAddress as `0x${string}`,
    })
    const table = createPriceTable({
      models: {
        'gpt-4o': [
          { effectiveFrom: 0, input: 2_500_000n, cachedInput: 1_250_000n, output: 10_000_000n },
        ],
        'gpt-4o-mini': [
          { effectiveFrom: 0, input: 150_000n, cachedInput: 75_000n, output: 600_000n },
        ],
        o3: [{ effectiveFrom: 0, input: 2_000_000n, cachedInput: 500_000n, output: 8_000_000n }],
        'claude-sonnet-4': [
          {
            effectiveFrom: 0,
            input: 3_000_000n,
            cachedInput: 300_000n,
            cacheWrite: 3_750_000n,
            output: 15_000_000n,
          },
        ],
      },
      aliases: { chat: 'gpt-4o', fast: 'gpt-4o-mini' },
    })
    const tree = createPriceTableTree(table, { at: 1 })
    await wait(settlement.connect(issuer).commitPriceTable(assetId, tree.root, 0n, 'ipfs://prices'))
    const block = await anvil.provider.getBlock('latest')
    const now = block!.timestamp
    let seq = 0
    const receipt = (amount: bigint, fields: Partial<UsageReceipt> = {}): UsageReceipt => {
      seq++
      return {
        assetId: assetId as `0x${string}`,
        meter: meter.address as `0x${string}`,
        user: user.address as `0x${string}`,
        seq,
        prev: keccak256(toUtf8Bytes(`prev ${seq}`)) as `0x${string}`,
        requestHash: keccak256(toUtf8Bytes(`request ${seq}`)) as `0x${string}`,
        responseHash: keccak256(toUtf8Bytes(`response ${seq}`)) as `0x${string}`,
        model: 'gpt-4o-2024-08-06',
        inputTokens: 1_200,
        cachedInputTokens: 200,
        cacheWriteTokens: 0,
        outputTokens: 800,
        reasoningTokens: 0,
        usageSource: 'reported',
        amount,
        cumulativeAmount: amount,
        priceTable: tree.root,
        attestation: `0x${'00'.repeat(32)}`,
        timestamp: now,
        ...fields,
      }
    }
    const overcharge = async (amount: bigint) => {
      const r = receipt(amount)
      const attestation: RequestAttestation = {
        assetId: r.assetId,
        user: r.user,
        requestHash: r.requestHash,
        nonce: BigInt(seq),
        expiry: now + 600,
        maxAmount: 1_000n,
      }
      r.attestation = hashAttestation(attestation, domain)
      const signedR = await signReceipt({ receipt: r, signer: meter, domain })
      const signedA = await signAttestation({ attestation, signer: user, domain })
      return wait(
        settlement
          .connect(challenger)
          .proveOvercharge(
            toReceiptStruct(r),
            signedR.signature,
            toAttestationStruct(attestation),
            signedA.signature,
          ),
      )
    }
    const restore = async () => {
      await wait(settlement.connect(issuer).postBond(assetId, minBond))
      const gas = await wait(settlement.connect(issuer).resume(assetId))
      await wait(settlement.connect(issuer).setMeter(assetId, meter.address, true))
      return gas
    }

    const proveOvercharge = await overcharge(1_000n + 5_000n)
    const resume = await restore()

    const a = receipt(3_000n)
    const b = { ...a, amount: 4_000n, cumulativeAmount: 4_000n }
    const sa = await signReceipt({ receipt: a, signer: meter, domain })
    const sb = await signReceipt({ receipt: b, signer: meter, domain })
    const proveEquivocation = await wait(
      settlement
        .connect(challenger)
        .proveEquivocation(toReceiptStruct(a), sa.signature, toReceiptStruct(b), sb.signature),
    )
    await restore()

    const entry = priceEntryOf(table, 'gpt-4o-2024-08-06', 1)
    const priced = receipt(0n)
    priced.amount = priceTokens(entry, priced) + 7_000n
    priced.cumulativeAmount = priced.amount
    const sp = await signReceipt({ receipt: priced, signer: meter, domain })
    const proveMispricing = await wait(
      settlement
        .connect(challenger)
        .proveMispricing(
          toReceiptStruct(priced),
          sp.signature,
          toPriceEntryStruct(entry),
          tree.getProof(entry.model),
        ),
    )
    await restore()

    // Three supporters with active stake (and one unbonding part): a penalty above the bond.
    for (const s of supporters.slice(0, 3))
      await wait(settlement.connect(s).stake(assetId, 5_000_000n))
    const { epoch } = await settlement.getAsset(assetId)
    await wait(
      settlement
        .connect(fx.settler)
        .settle(
          assetId,
          epoch + 1n,
          0n,
          `0x${'11'.repeat(32)}`,
          `0x${'00'.repeat(32)}`,
          0,
          '',
          `0x${'22'.repeat(32)}`,
        ),
    )
    await wait(settlement.connect(supporters[0]!).requestUnstake(assetId, 1_000_000n))
    const proveOverchargeWithStakeSlash = await overcharge(1_000n + 2_000_000n)
    const resumeAfterStakeSlash = await restore()
    return {
      proveOvercharge,
      proveOverchargeWithStakeSlash,
      proveEquivocation,
      proveMispricing,
      resume,
      resumeAfterStakeSlash,
    }
  } finally {
    await anvil.revert(start)
  }
}
