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
export function checkReport(
  chain: ChainReport,
  facts: OffChainFacts,
  mode: 'prepaid' | 'postpaid' = 'postpaid',
): Check[] {
  const prepaid = mode === 'prepaid'
  const usersBps = BigInt(chain.shares.usersBps)
  /** Prepaid: users' shares are floored per voucher and credited to balances, not claimed. */
  const claimedRoles = prepaid ? (['issuer', 'supporters', 'protocol'] as const) : roleNames
  const checks: Check[] = []
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail })
  const roles = (r: Roles) => roleNames.map((role) => `${role} ${r[role]}`).join(', ')
  const same = (a: Roles, b: Roles) => claimedRoles.every((role) => a[role] === b[role])
  const f = chain.fundedByEvents
  const partsSum = f.issuer + f.supporters + f.users + f.protocol

  check(
    'the parts sum exactly to the revenue',
    partsSum === chain.revenue &&
      chain.settlements.every(
        (s) => s.parts.issuer + s.parts.supporters + s.parts.users + s.parts.protocol === s.revenue,
      ),
    `${f.issuer} + ${f.supporters} + ${f.users} + ${f.protocol} = ${partsSum}; revenue ${chain.revenue} (Σ ${prepaid ? 'PrepaidSettled' : 'Settled'} events)`,
  )
  check(
    prepaid
      ? "every epoch split by the shares (floor; the users' share floored per voucher, the issuer gets the dust)"
      : 'every epoch split by the shares (floor; the issuer gets the dust)',
    chain.settlements.every((s) => {
      const split = splitRevenue(s.revenue, chain.shares)
      if (s.kind === 'postpaid') return roleNames.every((role) => split[role] === s.parts[role])
      const users = s.debits.reduce((t, d) => t + (d.debit * usersBps) / 10_000n, 0n)
      return (
        s.parts.users === users &&
        s.parts.supporters === split.supporters &&
        s.parts.protocol === split.protocol &&
        s.parts.issuer === split.issuer + split.users - users
      )
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
  const credited = chain.prepaid.users.reduce((t, u) => t + u.rebateCredited, 0n)
  check(
    prepaid
      ? "funded per role: contract counters = PrepaidSettled events; the users' part = the rebates credited"
      : 'funded per role: contract counters = Settled events',
    same(chain.funded, chain.fundedByEvents) &&
      (!prepaid || chain.fundedByEvents.users === credited),
    prepaid ? `${roles(chain.funded)}; users credited ${credited}` : roles(chain.funded),
  )
  check(
    'claimed per role: contract counters = claim events = token balances',
    same(chain.claimed, chain.claimedByEvents) && same(chain.claimed, chain.received),
    roles(chain.claimed),
  )
  const exact = prepaid
    ? (['issuer', 'protocol'] as const)
    : (['issuer', 'users', 'protocol'] as const)
  check(
    `${exact.join(', ')} claimed exactly what they were funded`,
    exact.every((role) => chain.claimed[role] === chain.funded[role]),
    `left unclaimed: ${exact.map((role) => `${role} ${chain.funded[role] - chain.claimed[role]}`).join(', ')}`,
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

  // Users: each epoch's users share divided by spend (users ordered by address); prepaid, each
  // epoch's voucher of a user credits floor(its spend × usersBps / 10,000).
  const rebates = new Map<string, bigint>()
  if (prepaid)
    for (const spend of facts.spend)
      for (const [user, amount] of spend)
        rebates.set(user, (rebates.get(user) ?? 0n) + (amount * usersBps) / 10_000n)
  for (const [e, spend] of prepaid ? [] : facts.spend.entries()) {
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
  const rebateOf = (address: string) =>
    prepaid
      ? chain.prepaid.users.find((u) => u.address.toLowerCase() === address.toLowerCase())
          ?.rebateCredited
      : chain.users.find((u) => u.address === address)?.claimed
  check(
    prepaid
      ? "each user's rebate, credited to its balance, is its share of its own spend"
      : "each user's rebate is pro rata to its spend",
    chain.users.every(
      (u) =>
        rebateOf(u.address) === (rebates.get(u.address.toLowerCase()) ?? 0n) &&
        (prepaid || u.received === u.claimed),
    ),
    chain.users
      .map(
        (u) =>
          `${u.address.slice(0, 8)}… ${rebateOf(u.address)}/${rebates.get(u.address.toLowerCase())}`,
      )
      .join(', '),
  )

  const owed = claimedRoles.reduce((t, role) => t + chain.funded[role] - chain.claimed[role], 0n)
  check(
    prepaid
      ? 'the contract holds exactly the stake, the prepaid balances, everything still owed and the settler’s deposit'
      : 'the contract holds exactly the stake, everything still owed and the settler’s deposit',
    chain.contractBalance ===
      chain.totalStake +
        chain.totalUnbonding +
        owed +
        chain.deposits +
        (prepaid ? chain.prepaid.total : 0n),
    `balance ${chain.contractBalance} = stake ${chain.totalStake} + unbonding ${chain.totalUnbonding}${prepaid ? ` + prepaid ${chain.prepaid.total}` : ''} + owed ${owed} + the settler's deposit ${chain.deposits}`,
  )
  if (prepaid) {
    check(
      'the provider paid nothing in',
      chain.prepaid.providerPaidIn === 0n,
      `the settler transferred ${chain.prepaid.providerPaidIn} to the contract`,
    )
    const spentBy = (address: string) =>
      facts.spend.reduce((t, epoch) => t + (epoch.get(address.toLowerCase()) ?? 0n), 0n)
    check(
      "each user's debit = what it acked = the receipts it verified",
      chain.prepaid.users.every((u) => u.debited === u.acked && u.acked === spentBy(u.address)),
      chain.prepaid.users
        .map((u) => `${u.address.slice(0, 8)}… debited ${u.debited}, acked ${u.acked}`)
        .join(', '),
    )
    const leaver = chain.prepaid.users[0]
    check(
      'balances add up (deposited − debited + rebates − withdrawn); user 1 withdrew all after the delay',
      chain.prepaid.users.every(
        (u) => u.balance === u.deposited - u.debited + u.rebateCredited - u.withdrawn,
      ) &&
        leaver !== undefined &&
        leaver.withdrawn > 0n &&
        leaver.balance === 0n &&
        chain.users.every((u, i) => {
          const p = chain.prepaid.users[i]!
          return u.received === p.withdrawn - p.deposited
        }),
      chain.prepaid.users
        .map((u) => `${u.address.slice(0, 8)}… balance ${u.balance}, withdrew ${u.withdrawn}`)
        .join(', '),
    )
  }
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
  check(
    'honest meter: nothing slashed, the asset not frozen; each stake still staked is at risk in full',
    !chain.risk.frozen &&
      chain.risk.totalSlashed === 0n &&
      facts.stakes.every((stake) => {
        const s = chain.supporters.find(
          (x) => x.address.toLowerCase() === stake.address.toLowerCase(),
        )
        return s?.slashed === 0n && s.atRisk === (stake.exited ? 0n : stake.amount)
      }),
    `bond ${chain.risk.bond}, slashed ${chain.risk.totalSlashed}; ${chain.supporters
      .map((s) => `at risk ${s.atRisk}, slashed ${s.slashed}`)
      .join('; ')}`,
  )
  return checks
}
