import { type Address, createRebateTree, type RevenueShares } from '@rma/core'
import {
  type ContractTransactionReceipt,
  type ContractTransactionResponse,
  keccak256,
  type LogDescription,
  toUtf8Bytes,
  type Wallet,
} from 'ethers'
import { afterAll, beforeAll, beforeEach, expect } from 'vitest'
import { parseSettlementError } from '../src/parseSettlementError.js'
import { registerAsset } from '../src/registerAsset.js'
import {
  type Anvil,
  type DeploySettlementFixtureParameters,
  deploySettlementFixture,
  type SettlementFixture,
  startAnvil,
} from '../src/testing/index.js'
import type { RmaSettlementContract } from '../src/types.js'

/** Sends a transaction and waits for its receipt. */
export async function mined(
  sent: Promise<ContractTransactionResponse>,
): Promise<ContractTransactionReceipt> {
  const receipt = await (await sent).wait()
  if (!receipt) throw new Error('not mined')
  return receipt
}

/** Expects a contract call to revert with the settlement contract's custom error `name`. */
export async function expectRevert(
  sent: Promise<unknown>,
  name: string,
  args?: readonly unknown[],
): Promise<void> {
  const error = await sent.then(
    () => {
      throw new Error(`expected a revert with ${name}, but the call succeeded`)
    },
    (e: unknown) => e,
  )
  const parsed = parseSettlementError(error)
  expect(parsed?.name ?? error, `revert reason`).toBe(name)
  if (args) expect([...(parsed?.args ?? [])]).toEqual(args)
}

/** The settlement contract's events in a receipt, in order. */
export function eventsOf(
  settlement: RmaSettlementContract,
  receipt: ContractTransactionReceipt,
  name?: string,
): LogDescription[] {
  const events: LogDescription[] = []
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== receipt.to?.toLowerCase()) continue
    const parsed = settlement.interface.parseLog(log)
    if (parsed && (!name || parsed.name === name)) events.push(parsed)
  }
  return events
}

/** The named arguments of an event as a plain object. */
export function argsOf(event: LogDescription | undefined): Record<string, unknown> {
  if (!event) throw new Error('no such event')
  return event.args.toObject()
}

/**
 * Starts anvil and deploys the fixture once per file; every test starts from that state
 * (evm_snapshot / evm_revert).
 */
export function useSettlementFixture(
  parameters: DeploySettlementFixtureParameters = {},
  anvilAccounts = 10,
) {
  const context = {} as { anvil: Anvil; fx: SettlementFixture }
  let snapshot = ''
  beforeAll(async () => {
    context.anvil = await startAnvil({ accounts: anvilAccounts })
    context.fx = await deploySettlementFixture(context.anvil, parameters)
    snapshot = await context.anvil.snapshot()
  }, 60_000)
  beforeEach(async () => {
    await context.anvil.revert(snapshot)
    snapshot = await context.anvil.snapshot()
  })
  afterAll(async () => {
    await context.anvil?.stop()
  })
  return context
}

/** A settle call with placeholder batch fields. */
export function settleArgs(
  assetId: string,
  epoch: number | bigint,
  revenue: bigint,
  rebateRoot = `0x${'33'.repeat(32)}`,
  receiptCount = 10,
) {
  return [
    assetId,
    epoch,
    revenue,
    `0x${'11'.repeat(32)}`,
    rebateRoot,
    receiptCount,
    'ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
    `0x${'22'.repeat(32)}`,
  ] as const
}

/** A rebate tree of one epoch: each user and their amount for that epoch. */
export function epochTree(amounts: ReadonlyMap<Address, bigint> | [Address, bigint][]) {
  return createRebateTree(
    [...amounts].map(([user, cumulativeAmount]) => ({ user, cumulativeAmount })),
  )
}

export type EpochTree = ReturnType<typeof epochTree>

/** `claimRebate` arguments of `user` in `tree` for `epoch`. */
export function claimArgs(assetId: string, epoch: number | bigint, tree: EpochTree, user: Address) {
  const entry = tree.entry(user)
  return [assetId, epoch, entry.user, entry.cumulativeAmount, tree.getProof(entry)] as const
}

/** Registers one more asset on the fixture's contract; returns its id. */
export async function addAsset(
  fx: SettlementFixture,
  parameters: {
    issuer: Wallet
    settler: Wallet
    salt?: string
    token?: string
    shares?: RevenueShares
    unbondingDelay?: number
  },
): Promise<string> {
  const { assetId } = await registerAsset(fx.settlement.connect(parameters.issuer), {
    salt: parameters.salt ?? keccak256(toUtf8Bytes('rma:second-asset')),
    token: parameters.token ?? fx.tokenAddress,
    settler: parameters.settler.address,
    ...(parameters.shares ?? fx.shares),
    unbondingDelay: parameters.unbondingDelay ?? fx.unbondingDelay,
  })
  return assetId
}

/** The latest block's timestamp. */
export async function blockTime(anvil: Anvil): Promise<bigint> {
  const block = await anvil.provider.getBlock('latest')
  return BigInt(block!.timestamp)
}
