import { allocateProRata, splitRevenue } from '@rma/core'
import { type ChainReport, type Roles, roleNames } from './readChainReport.js'
import type { OffChainFacts } from './runDemo.js'

export type Check = { name: string; ok: boolean; detail: string }

/** The accumulator's fixed-point scale (`REWARD_SCALE` of the contract). */
const rewardScale = 10n ** 18n

/**
 * The demo's claims about money, each checked against what the chain says. Every figure on the
 * left is read from the chain (`ChainReport`); the right side is either another chain reading
 * (events vs counters vs balances) or what the users' own ledgers recorded.
 *
 * @example
 * const failed = checkReport(chain, facts).filter((c) => !c.ok)
 */
export function checkReport(chain: ChainReport, facts: OffChainFacts): Check[] {
  const checks: Check[] = []
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail })
  const roles = (r: Roles) => roleNames.map((role) => `${role} ${r[role]}`).join(', ')
  const same = (a: Roles, b: Roles) => roleNames.every((role) => a[role] === b[role])
  const f = chain.fundedByEvents
  const partsSum = f.issuer + f.supporters + f.users + f.protocol

  check(
    'the parts sum exactly to the revenue',
    partsSum === chain.revenue &&
      chain.settlements.every(
        (s) => s.parts.issuer + s.parts.supporters + s.parts.users + s.parts.protocol === s.revenue,
      ),
    `${f.issuer} + ${f.supporters} + ${f.users} + ${f.protocol} = ${partsSum}; revenue ${chain.revenue} (Σ Settled events)`,
  )
  check(
    'every epoch split by the shares (floor; the issuer gets the dust)',
    chain.settlements.every((s) => {
      const split = splitRevenue(s.revenue, chain.shares)
      return roleNames.every((role) => split[role] === s.parts[role])
    }),
    chain.settlements.map((s) => `epoch ${s.epoch}: ${roles(s.parts)}`).join('; '),
  )
  const ledgerRevenue = facts.spend.reduce(
    (t, epoch) => t + [...epoch.values()].reduce((a, b) => a + b, 0n),
    0n,
  )
  check(
    'revenue on chain = the receipts the users verified',
    ledgerRevenue === chain.revenue,
    `${ledgerRevenue} in the users' ledgers, ${chain.revenue} settled`,
  )
  const receipts = chain.settlements.reduce((t, s) => t + s.receiptCount, 0)
  check(
    'receipts settled = calls made',
    receipts === facts.calls && chain.settlements.length === facts.spend.length,
    `${receipts} receipts in ${chain.settlements.length} epochs, ${facts.calls} calls`,
  )
  check(
    'funded per role: contract counters = Settled events',
    same(chain.funded, chain.fundedByEvents),
    roles(chain.funded),
  )
  check(
    'claimed per role: contract counters = claim events = token balances',
    same(chain.claimed, chain.claimedByEvents) && same(chain.claimed, chain.received),
    roles(chain.claimed),
  )
  check(
    'issuer, users and protocol claimed exactly what they were funded',
    (['issuer', 'users', 'protocol'] as const).every(
      (role) => chain.claimed[role] === chain.funded[role],
    ),
    `left unclaimed: issuer ${chain.funded.issuer - chain.claimed.issuer}, users ${chain.funded.users - chain.claimed.users}, protocol ${chain.funded.protocol - chain.claimed.protocol}`,
  )

  // Supporters: the accumulator, replayed. Every stake was active at every settlement.
  const totalStake = chain.supporters.reduce((t, s) => t + s.staked, 0n)
  let rewardPerStake = 0n
  for (const s of chain.settlements)
    rewardPerStake += (s.parts.supporters * rewardScale) / totalStake
  const expected = chain.supporters.map((s) => (s.staked * rewardPerStake) / rewardScale)
  const dust = chain.funded.supporters - chain.claimed.supporters
  check(
    'each supporter claimed its stake-weighted share; only rounding dust stays',
    chain.supporters.every((s, i) => s.claimed === expected[i] && s.claimable === 0n) &&
      dust >= 0n &&
      dust < BigInt(chain.supporters.length * Math.max(1, chain.settlements.length)),
    `${chain.supporters.map((s) => `${s.claimed} on stake ${s.staked}`).join(', ')}; dust ${dust}`,
  )

  // Users: each epoch's users share divided by spend (users ordered by address).
  const rebates = new Map<string, bigint>()
  for (const [e, spend] of facts.spend.entries()) {
    const settlement = chain.settlements[e]
    if (!settlement) break
    const users = [...spend.keys()].sort()
    allocateProRata(
      settlement.parts.users,
      users.map((u) => spend.get(u)!),
    ).forEach((part, i) => {
      rebates.set(users[i]!, (rebates.get(users[i]!) ?? 0n) + part)
    })
  }
  check(
    "each user's rebate is pro rata to its spend",
    chain.users.every(
      (u) => u.claimed === (rebates.get(u.address.toLowerCase()) ?? 0n) && u.received === u.claimed,
    ),
    chain.users
      .map((u) => `${u.address.slice(0, 8)}… ${u.claimed}/${rebates.get(u.address.toLowerCase())}`)
      .join(', '),
  )

  const owed = roleNames.reduce((t, role) => t + chain.funded[role] - chain.claimed[role], 0n)
  check(
    'the contract holds exactly the stake, everything still owed and the settler’s deposit',
    chain.contractBalance === chain.totalStake + chain.totalUnbonding + owed + chain.deposits,
    `balance ${chain.contractBalance} = stake ${chain.totalStake} + unbonding ${chain.totalUnbonding} + owed ${owed} + the settler's deposit ${chain.deposits}`,
  )
  check(
    'the exiting supporter withdrew its whole stake after the delay; the other is still staked',
    facts.stakes.every((stake) => {
      const s = chain.supporters.find(
        (x) => x.address.toLowerCase() === stake.address.toLowerCase(),
      )
      return stake.exited
        ? s?.withdrawn === stake.amount && s.active === 0n && s.unbonding === 0n
        : s?.active === stake.amount && s.withdrawn === 0n
    }),
    chain.supporters
      .map((s) => `staked ${s.staked}, withdrew ${s.withdrawn}, active ${s.active}`)
      .join('; '),
  )
  return checks
}
