import type { RmaSettlementContract, TestTokenContract } from '@rma/contracts'
import type { Address, Hex, RevenueShares } from '@rma/core'
import { type AssetRisk, readPayouts } from '@rma/settlement'
import { type EventLog, type Provider, ZeroAddress } from 'ethers'

export type Roles<T = bigint> = { issuer: T; supporters: T; users: T; protocol: T }

export const roleNames = ['issuer', 'supporters', 'users', 'protocol'] as const

/** One settlement (`Settled`, or `PrepaidSettled` for vouchers) and the gas of its transaction. */
export type Settlement = {
  kind: 'postpaid' | 'prepaid'
  epoch: number
  revenue: bigint
  receiptCount: number
  parts: Roles
  txHash: Hex
  gasUsed: bigint
  /** Prepaid: each applied voucher's user and debit (`VoucherSettled`), in order. */
  debits: { user: Address; debit: bigint }[]
}

/** A prepaid user as the chain says: deposits, debits, its settled voucher, rebates, balance. */
export type PrepaidUser = {
  address: Address
  /** Σ `PrepaidDeposited` to it. */
  deposited: bigint
  /** Σ `VoucherSettled` debits in this asset's `PrepaidSettled` transactions. */
  debited: bigint
  /** Its chain's settled voucher (`settledVoucher`): the cumulative amount it acked, settled. */
  acked: bigint
  /** Σ floor(debit × usersBps / 10,000) over its settled vouchers: credited to its balance. */
  rebateCredited: bigint
  /** `prepaidBalance`. */
  balance: bigint
  /** Σ `PrepaidWithdrawn` to it. */
  withdrawn: bigint
}

/** Everything the demo reports, read from the chain: events, `getAsset`, token balances. */
export type ChainReport = {
  shares: RevenueShares
  unbondingDelay: number
  settlements: Settlement[]
  /** Σ `Settled.revenue`. */
  revenue: bigint
  /** Σ of each role's part in the `Settled` events. */
  fundedByEvents: Roles
  /** Per role as the contract's own counters say (`getAsset`: this asset's own books). */
  funded: Roles
  /** Per role from the counters (`getAsset`). */
  claimed: Roles
  /** Per role from the claim events (`IssuerClaimed`, `RewardsClaimed`, `RebateClaimed`, `ProtocolClaimed`). */
  claimedByEvents: Roles
  /** Per role from token balances: what each account holds beyond what it was minted and staked. */
  received: Roles
  supporters: {
    address: Address
    staked: bigint
    withdrawn: bigint
    active: bigint
    unbonding: bigint
    claimed: bigint
    claimable: bigint
    received: bigint
    /** `active + unbonding` (`stakeAtRiskOf`): what a fraud proof could slash now. */
    atRisk: bigint
    /** What fraud proofs took from its stake (`stakeAtRiskOf`). */
    slashed: bigint
  }[]
  /** The asset's fraud risk as `readPayouts` reports it: bond, frozen, slashed, per supporter. */
  risk: AssetRisk
  users: { address: Address; claimed: bigint; received: bigint }[]
  /** The settlement contract's token balance, and what it must cover. */
  contractBalance: bigint
  totalStake: bigint
  totalUnbonding: bigint
  /** The settler's prepaid deposit for coming batches (the settlement client tops it up). */
  deposits: bigint
  prepaid: {
    /** Tokens the settler (the provider's side) transferred into the settlement contract. */
    providerPaidIn: bigint
    /** `prepaidTotalOf(token)`: every user's prepaid balance. */
    total: bigint
    users: PrepaidUser[]
  }
}

export type ReadChainReportParameters = {
  provider: Provider
  settlement: RmaSettlementContract
  token: TestTokenContract
  assetId: Hex
  issuer: Address
  /** The settlement contract's owner: the protocol fee recipient. */
  owner: Address
  supporters: readonly Address[]
  users: readonly Address[]
  /** The provider's meter key (prepaid chains are per meter). */
  meter: Address
  /** The asset's settler: whatever it transferred to the contract is what the provider paid in. */
  settler: Address
}

/**
 * Reads the asset's whole history back from the chain: every settlement (`Settled` events and
 * their gas), the per-role counters of `getAsset`, every claim event, stakes and withdrawals,
 * and token balances. Nothing is taken from the demo's memory.
 *
 * @example
 * const report = await readChainReport({ provider, settlement, token, assetId, issuer, owner, supporters, users })
 */
export async function readChainReport(p: ReadChainReportParameters): Promise<ChainReport> {
  const { settlement, token, assetId } = p
  const settlementAddress = await settlement.getAddress()
  const events = async (name: string, ...args: unknown[]) =>
    (await settlement.queryFilter(settlement.filters[name]!(...args))) as EventLog[]
  const sum = (logs: EventLog[], field = 'amount') =>
    logs.reduce((total, log) => total + (log.args[field] as bigint), 0n)
  const by = (logs: EventLog[], field: string, address: Address) =>
    logs.filter((log) => String(log.args[field]).toLowerCase() === address.toLowerCase())
  const minted = async (to: Address) => {
    const logs = (await token.queryFilter(token.filters.Transfer!(ZeroAddress, to))) as EventLog[]
    return sum(logs, 'value')
  }

  const asset = await settlement.getAsset(assetId)
  const settledLogs = await events('Settled', assetId)
  const settlements: Settlement[] = []
  for (const log of settledLogs) {
    const receipt = await p.provider.getTransactionReceipt(log.transactionHash)
    settlements.push({
      kind: 'postpaid',
      debits: [],
      epoch: Number(log.args.epoch),
      revenue: log.args.revenue as bigint,
      receiptCount: Number(log.args.receiptCount),
      parts: {
        issuer: log.args.issuerAmount as bigint,
        supporters: log.args.supportersAmount as bigint,
        users: log.args.usersAmount as bigint,
        protocol: log.args.protocolAmount as bigint,
      },
      txHash: log.transactionHash as Hex,
      gasUsed: receipt?.gasUsed ?? 0n,
    })
  }
  // Prepaid settlements: the receipts each covers are its vouchers' seq increases (calldata).
  const lastSeq = new Map<string, bigint>()
  for (const log of await events('PrepaidSettled', assetId)) {
    const receipt = await p.provider.getTransactionReceipt(log.transactionHash)
    const tx = await p.provider.getTransaction(log.transactionHash)
    const parsed = tx && settlement.interface.parseTransaction(tx)
    const skipped = new Set<string>()
    const debits: { user: Address; debit: bigint }[] = []
    for (const entry of receipt?.logs ?? []) {
      const event = settlement.interface.parseLog(entry)
      if (event?.name === 'VoucherSkipped')
        skipped.add(
          `${String(event.args.meter).toLowerCase()}:${String(event.args.user).toLowerCase()}:${event.args.seq}`,
        )
      if (event?.name === 'VoucherSettled')
        debits.push({ user: event.args.user as Address, debit: event.args.debit as bigint })
    }
    let receiptCount = 0
    for (const v of (parsed?.args.vouchers ?? []) as {
      meter: string
      user: string
      seq: bigint
    }[]) {
      const key = `${v.meter.toLowerCase()}:${v.user.toLowerCase()}`
      if (skipped.has(`${key}:${v.seq}`)) continue
      receiptCount += Number(v.seq - (lastSeq.get(key) ?? 0n))
      lastSeq.set(key, v.seq)
    }
    settlements.push({
      kind: 'prepaid',
      epoch: Number(log.args.epoch),
      revenue: log.args.debited as bigint,
      receiptCount,
      parts: {
        issuer: log.args.issuerAmount as bigint,
        supporters: log.args.supportersAmount as bigint,
        users: log.args.usersAmount as bigint,
        protocol: log.args.protocolAmount as bigint,
      },
      txHash: log.transactionHash as Hex,
      gasUsed: receipt?.gasUsed ?? 0n,
      debits,
    })
  }
  settlements.sort((a, b) => a.epoch - b.epoch)
  const fundedByEvents = Object.fromEntries(
    roleNames.map((role) => [role, settlements.reduce((t, s) => t + s.parts[role], 0n)]),
  ) as Roles

  const issuerClaims = await events('IssuerClaimed', assetId)
  const rewardClaims = await events('RewardsClaimed', assetId)
  const rebateClaims = await events('RebateClaimed', assetId)
  const protocolClaims = await events('ProtocolClaimed', assetId)
  const staked = await events('Staked', assetId)
  const withdrawn = await events('Withdrawn', assetId)

  const { risk } = await readPayouts(settlement, assetId, { supporters: p.supporters })
  const supporters = []
  for (const [i, address] of p.supporters.entries()) {
    const [position, claimable, balance, mint] = await Promise.all([
      settlement.stakeOf(assetId, address),
      settlement.claimableRewards(assetId, address),
      token.balanceOf(address),
      minted(address),
    ])
    const stakedAmount = sum(by(staked, 'supporter', address))
    const withdrawnAmount = sum(by(withdrawn, 'supporter', address))
    supporters.push({
      address,
      staked: stakedAmount,
      withdrawn: withdrawnAmount,
      active: position.active,
      unbonding: position.unbonding,
      claimed: sum(by(rewardClaims, 'supporter', address)),
      claimable,
      // balance = minted − staked + withdrawn + rewards received
      received: balance - mint + stakedAmount - withdrawnAmount,
      atRisk: risk.supporters[i]?.atRisk ?? 0n,
      slashed: risk.supporters[i]?.slashed ?? 0n,
    })
  }
  const users = []
  for (const address of p.users)
    users.push({
      address,
      claimed: sum(by(rebateClaims, 'user', address)),
      received: (await token.balanceOf(address)) - (await minted(address)),
    })

  const protocolClaimed = sum(protocolClaims)
  const tokenAddress = await token.getAddress()
  const usersBps = BigInt(asset.usersBps)
  const prepaidUsers: PrepaidUser[] = []
  for (const address of p.users) {
    const mine = settlements.flatMap((s) =>
      s.debits.filter((d) => d.user.toLowerCase() === address.toLowerCase()),
    )
    const [balance] = await settlement.prepaidBalance(tokenAddress, address)
    const [, acked] = await settlement.settledVoucher(assetId, p.meter, address)
    prepaidUsers.push({
      address,
      deposited: sum(await events('PrepaidDeposited', tokenAddress, address)),
      debited: mine.reduce((t, d) => t + d.debit, 0n),
      acked,
      rebateCredited: mine.reduce((t, d) => t + (d.debit * usersBps) / 10_000n, 0n),
      balance,
      withdrawn: sum(await events('PrepaidWithdrawn', tokenAddress, address)),
    })
  }
  const paidIn = (await token.queryFilter(
    token.filters.Transfer!(p.settler, settlementAddress),
  )) as EventLog[]
  return {
    shares: {
      issuerBps: Number(asset.issuerBps),
      supportersBps: Number(asset.supportersBps),
      usersBps: Number(asset.usersBps),
      protocolBps: Number(asset.protocolBps),
    },
    unbondingDelay: Number(asset.unbondingDelay),
    settlements,
    revenue: settlements.reduce((t, s) => t + s.revenue, 0n),
    fundedByEvents,
    funded: {
      issuer: asset.issuerFunded,
      supporters: asset.supportersFunded,
      users: asset.rebatesFunded,
      protocol: asset.protocolFunded,
    },
    claimed: {
      issuer: asset.issuerClaimed,
      supporters: asset.supportersClaimed,
      users: asset.rebatesClaimed,
      protocol: asset.protocolClaimed,
    },
    claimedByEvents: {
      issuer: sum(issuerClaims),
      supporters: sum(rewardClaims),
      users: sum(rebateClaims),
      protocol: protocolClaimed,
    },
    received: {
      issuer: (await token.balanceOf(p.issuer)) - (await minted(p.issuer)),
      supporters: supporters.reduce((t, s) => t + s.received, 0n),
      users: users.reduce((t, u) => t + u.received, 0n),
      protocol: (await token.balanceOf(p.owner)) - (await minted(p.owner)),
    },
    supporters,
    risk,
    users,
    contractBalance: await token.balanceOf(settlementAddress),
    totalStake: asset.totalStake,
    totalUnbonding: asset.totalUnbonding,
    deposits: asset.deposits,
    prepaid: {
      providerPaidIn: sum(paidIn, 'value'),
      total: await settlement.prepaidTotalOf(tokenAddress),
      users: prepaidUsers,
    },
  }
}
