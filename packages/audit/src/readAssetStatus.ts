import type { Address, Hex } from '@rma/core'
import type {
  AssetStatus,
  EpochStatus,
  PrepaidUserStatus,
  RoleStatus,
  SupporterStatus,
  UserClaimStatus,
} from './AssetStatus.js'
import { derivePrepaidUsers } from './derivePrepaidUsers.js'
import { mapLimit } from './mapLimit.js'
import {
  type AssetEvent,
  type ChainParameters,
  openSettlement,
  type SettlementReader,
} from './openSettlement.js'
import { type PrepaidBatch, readPrepaidBatch } from './readPrepaidBatch.js'
import { voucherRebate } from './voucherRebate.js'

export type ReadAssetStatusParameters = ChainParameters

/**
 * Reads one asset from the chain only (views and events at one block): its configuration and
 * meters, every settled epoch with its split and batch, stake per supporter with realised
 * yield, each role's funded / claimed / owed, and the users who claimed. JSON-safe: this is
 * the object `rma status --json` prints.
 *
 * @example
 * const status = await readAssetStatus({ rpcUrl: 'http://127.0.0.1:8545', contract, assetId })
 * status.roles.users.owed // rebates funded and not yet claimed, base units as a string
 */
export async function readAssetStatus(parameters: ReadAssetStatusParameters): Promise<AssetStatus> {
  const reader = await openSettlement(parameters)
  return collectAssetStatus(reader, await reader.events())
}

const zeroAddress = /^0x0{40}$/i
/** `epochStateOf`'s state codes (0, not settled, never occurs for a settled epoch). */
const batchStates: Record<number, EpochStatus['state']> = {
  1: 'pending',
  2: 'released',
  3: 'vetoed',
}

/** The status from a reader and the asset's events (shared with the audit, which reads them once). */
export async function collectAssetStatus(
  reader: SettlementReader,
  events: readonly AssetEvent[],
  prepaidBatches?: readonly PrepaidBatch[],
): Promise<AssetStatus> {
  const a = reader.asset
  const meters = new Map<string, boolean>()
  const supporters = new Map<string, { staked: bigint; withdrawn: bigint; claimed: bigint }>()
  const users = new Map<string, { claimed: bigint; epochs: number[] }>()
  const settled: { event: AssetEvent; settler: Address }[] = []
  let settler = ''
  for (const event of events) {
    const args = event.args
    switch (event.name) {
      case 'MeterSet':
        meters.set(lower(args.meter), Boolean(args.allowed))
        break
      case 'SettlerSet':
        settler = lower(args.settler)
        break
      case 'Settled':
      case 'PrepaidSettled':
        settled.push({ event, settler: settler as Address })
        break
      case 'Staked':
        supporter(lower(args.supporter)).staked += args.amount as bigint
        break
      case 'Withdrawn':
        supporter(lower(args.supporter)).withdrawn += args.amount as bigint
        break
      case 'RewardsClaimed':
        supporter(lower(args.supporter)).claimed += args.amount as bigint
        break
      case 'RebateClaimed': {
        const user = lower(args.user)
        const u = users.get(user) ?? { claimed: 0n, epochs: [] }
        u.claimed += args.amount as bigint
        u.epochs.push(Number(args.epoch))
        users.set(user, u)
        break
      }
    }
  }
  function supporter(address: string) {
    const s = supporters.get(address) ?? { staked: 0n, withdrawn: 0n, claimed: 0n }
    supporters.set(address, s)
    return s
  }

  const batches =
    prepaidBatches ??
    (await mapLimit(
      settled.filter((s) => s.event.name === 'PrepaidSettled'),
      8,
      ({ event }) => readPrepaidBatch(reader, event),
    ))
  const usersBps = BigInt(a.usersBps as bigint)
  const prepaid = prepaidFigures(batches, usersBps)

  const epochs: EpochStatus[] = await mapLimit(settled, 8, async ({ event, settler }) => {
    const e = event.args
    const epoch = Number(e.epoch)
    if (event.name === 'PrepaidSettled')
      return {
        epoch,
        kind: 'prepaid' as const,
        block: event.blockNumber,
        timestamp: await reader.blockTimestamp(event.blockNumber),
        transactionHash: event.transactionHash,
        settler,
        revenue: String(e.debited),
        receiptCount: prepaid.receiptCounts.get(epoch) ?? null,
        receiptsRoot: null,
        rebateRoot: null,
        batchHash: null,
        batchUri: null,
        split: {
          issuer: String(e.issuerAmount),
          supporters: String(e.supportersAmount),
          users: String(e.usersAmount),
          protocol: String(e.protocolAmount),
        },
        rebatesClaimed: String(e.usersAmount),
        vouchers: { submitted: Number(e.vouchers), settled: Number(e.settledVouchers) },
        state: 'released' as const,
        releasableAt: null,
      }
    const [rebates, batch] = await Promise.all([
      reader.view('epochRebates', [reader.assetId, epoch]),
      reader.view('epochStateOf', [reader.assetId, epoch]),
    ])
    const state = batchStates[Number(batch.state)] ?? 'released'
    return {
      epoch,
      kind: 'postpaid' as const,
      block: event.blockNumber,
      timestamp: await reader.blockTimestamp(event.blockNumber),
      transactionHash: event.transactionHash,
      settler,
      revenue: String(e.revenue),
      receiptCount: Number(e.receiptCount),
      receiptsRoot: lower(e.receiptsRoot) as Hex,
      rebateRoot: lower(e.rebateRoot) as Hex,
      batchHash: lower(e.batchHash) as Hex,
      batchUri: String(e.batchUri),
      split: {
        issuer: String(e.issuerAmount),
        supporters: String(e.supportersAmount),
        users: String(e.usersAmount),
        protocol: String(e.protocolAmount),
      },
      // The epoch funded its users' share; the chain keeps what is still unclaimed of it (a
      // pending or vetoed epoch funded nothing yet: none of it was claimed).
      rebatesClaimed:
        state === 'released'
          ? String((e.usersAmount as bigint) - (rebates.remaining as bigint))
          : '0',
      vouchers: null,
      state,
      releasableAt: state === 'pending' ? Number(batch.releasableAt) : null,
    }
  })

  const prepaidUsers: PrepaidUserStatus[] = await mapLimit(
    [...prepaid.users.entries()].sort(([x], [y]) => (x < y ? -1 : 1)),
    8,
    async ([address, u]) => {
      const balance = await reader.view('prepaidBalance', [a.token, address])
      return {
        address: address as Address,
        balance: String(balance.balance),
        withdrawalRequested: String(balance.withdrawalRequested),
        withdrawableAt: Number(balance.withdrawableAt),
        debited: String(u.debited),
        rebateCredited: String(u.rebate),
        vouchers: u.vouchers,
      }
    },
  )
  const prepaidTotal = (await reader.view('prepaidTotalOf', [a.token]))[0] as bigint
  const prepaidRebates = [...prepaid.users.values()].reduce((sum, u) => sum + u.rebate, 0n)
  const prepaidDebits = [...prepaid.users.values()].reduce((sum, u) => sum + u.debited, 0n)

  const supporterList: SupporterStatus[] = await mapLimit(
    [...supporters.entries()],
    8,
    async ([address, s]) => {
      const [stake, pending, claimable] = await Promise.all([
        reader.view('stakeOf', [reader.assetId, address]),
        reader.view('pendingStakeOf', [reader.assetId, address]),
        reader.view('claimableRewards', [reader.assetId, address]),
      ])
      const earned = s.claimed + (claimable[0] as bigint)
      return {
        address: address as Address,
        active: String(stake.active),
        pending: String(pending.amount),
        activationEpoch: Number(pending.activationEpoch),
        unbonding: String(stake.unbonding),
        unbondingEnd: Number(stake.unbondingEnd),
        staked: String(s.staked),
        withdrawn: String(s.withdrawn),
        rewardsClaimed: String(s.claimed),
        rewardsClaimable: String(claimable[0]),
        rewardsEarned: String(earned),
        yieldBps: s.staked === 0n ? 0 : Number((earned * 10_000n) / s.staked),
      }
    },
  )

  const userList: UserClaimStatus[] = [...users.entries()]
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([address, u]) => ({
      address: address as Address,
      claimed: String(u.claimed),
      epochs: u.epochs.sort((x, y) => x - y),
    }))

  return {
    chainId: reader.chainId,
    contract: reader.contract,
    assetId: reader.assetId,
    block: reader.block,
    asset: {
      issuer: lower(a.issuer) as Address,
      pendingIssuer: zeroAddress.test(String(a.pendingIssuer))
        ? null
        : (lower(a.pendingIssuer) as Address),
      token: lower(a.token) as Address,
      settler: lower(a.settler) as Address,
      shares: {
        issuerBps: Number(a.issuerBps),
        supportersBps: Number(a.supportersBps),
        usersBps: Number(a.usersBps),
        protocolBps: Number(a.protocolBps),
      },
      unbondingDelay: Number(a.unbondingDelay),
      meters: [...meters.entries()].filter(([, on]) => on).map(([m]) => m as Address),
      epoch: Number(a.epoch),
      challengeWindow: Number((await reader.view('challengeWindowOf', [reader.assetId]))[0]),
    },
    epochs,
    totals: {
      revenue: revenueOf(epochs, 'released'),
      receiptCount: epochs
        .filter((e) => e.state === 'released')
        .reduce((sum, e) => sum + (e.receiptCount ?? 0), 0),
      pendingRevenue: revenueOf(epochs, 'pending'),
      vetoedRevenue: revenueOf(epochs, 'vetoed'),
    },
    stake: {
      active: String(a.totalStake),
      pending: String(a.pendingStake),
      unbonding: String(a.totalUnbonding),
      held: String(a.heldForSupporters),
      supporters: supporterList,
    },
    roles: {
      issuer: role(a.issuerFunded, a.issuerClaimed, 112n),
      supporters: role(a.supportersFunded, a.supportersClaimed, 112n),
      users: withPrepaid(role(a.rebatesFunded, a.rebatesClaimed, 96n), prepaidRebates),
      protocol: role(a.protocolFunded, a.protocolClaimed, 112n),
    },
    deposits: String(a.deposits),
    ledger: String(a.ledger),
    users: userList,
    prepaid: {
      total: String(prepaidTotal),
      debited: String(prepaidDebits),
      rebateCredited: String(prepaidRebates),
      users: prepaidUsers,
    },
  }
}

function revenueOf(epochs: readonly EpochStatus[], state: EpochStatus['state']): string {
  return String(
    epochs.filter((e) => e.state === state).reduce((sum, e) => sum + BigInt(e.revenue), 0n),
  )
}

/** Per user across the prepaid epochs: Σ debits, Σ rebates, vouchers applied; per epoch its receipts. */
function prepaidFigures(batches: readonly PrepaidBatch[], usersBps: bigint) {
  const users = new Map<string, { debited: bigint; rebate: bigint; vouchers: number }>()
  for (const batch of batches)
    for (const o of batch.outcomes) {
      if (!o.settled) continue
      const u = users.get(o.user) ?? { debited: 0n, rebate: 0n, vouchers: 0 }
      u.debited += o.debit
      u.rebate += voucherRebate(o.debit, usersBps)
      u.vouchers += 1
      users.set(o.user, u)
    }
  const receiptCounts = new Map<number, number | null>()
  for (const [epoch, e] of derivePrepaidUsers(batches, usersBps))
    receiptCounts.set(epoch, e.receiptCount)
  return { users, receiptCounts }
}

/** Prepaid rebates are paid as they are funded: both counters grow, nothing is owed. */
function withPrepaid(r: RoleStatus, rebates: bigint): RoleStatus {
  return {
    funded: String(BigInt(r.funded) + rebates),
    claimed: String(BigInt(r.claimed) + rebates),
    owed: r.owed,
  }
}

/** The contract's counters wrap modulo 2^bits; what is owed is their difference. */
function role(funded: unknown, claimed: unknown, bits: bigint): RoleStatus {
  const f = BigInt(funded as bigint)
  const c = BigInt(claimed as bigint)
  const owed = (f - c + (1n << bits)) % (1n << bits)
  return { funded: f.toString(), claimed: c.toString(), owed: owed.toString() }
}

function lower(value: unknown): string {
  return String(value).toLowerCase()
}
