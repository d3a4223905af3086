import { type ChainReport, type Roles, roleNames } from './readChainReport.js'
import { type DemoResult, fmtToken } from './runDemo.js'

/**
 * Per role, what was funded and claimed; in prepaid mode the users' share is credited to their
 * balances by the settlement itself (`PrepaidSettled.usersAmount`): funded and paid at once.
 */
function rolesOf(
  chain: ChainReport,
  mode: 'prepaid' | 'postpaid',
): { funded: Roles; claimed: Roles } {
  if (mode === 'postpaid') return { funded: chain.funded, claimed: chain.claimed }
  const users = chain.fundedByEvents.users
  return { funded: { ...chain.funded, users }, claimed: { ...chain.claimed, users } }
}

/**
 * The demo's result as one JSON-ready object (`pnpm demo -- --json`): amounts are decimal
 * strings of payment-token base units, every money figure is read from the chain.
 *
 * @example
 * process.stdout.write(`${JSON.stringify(demoJSON(result))}\n`)
 */
export function demoJSON(result: DemoResult) {
  const { chain, facts } = result
  const amounts = (r: Record<(typeof roleNames)[number], bigint>) =>
    Object.fromEntries(roleNames.map((role) => [role, r[role].toString()]))
  const gas = chain.settlements.map((s) => s.gasUsed)
  const prepaid = result.mode === 'prepaid'
  const { funded, claimed } = rolesOf(chain, result.mode)
  const rebateOf = (address: string) =>
    chain.prepaid.users.find((p) => p.address === address)?.rebateCredited ?? 0n
  return {
    ok: result.ok,
    mode: result.mode,
    calls: facts.calls,
    streamingCalls: facts.streamingCalls,
    receipts: chain.settlements.reduce((t, s) => t + s.receiptCount, 0),
    tokens: { input: facts.inputTokens, output: facts.outputTokens },
    revenue: chain.revenue.toString(),
    roles: amounts(funded),
    claimed: amounts(claimed),
    unclaimed: Object.fromEntries(
      roleNames.map((role) => [role, (funded[role] - claimed[role]).toString()]),
    ),
    epochs: chain.settlements.length,
    gasPerSettle: gas.length > 0 ? Number(gas.reduce((a, b) => a + b, 0n) / BigInt(gas.length)) : 0,
    settlements: chain.settlements.map((s) => ({
      epoch: s.epoch,
      revenue: s.revenue.toString(),
      receipts: s.receiptCount,
      gasUsed: Number(s.gasUsed),
      parts: amounts(s.parts),
      txHash: s.txHash,
    })),
    supporters: chain.supporters.map((s) => ({
      address: s.address,
      staked: s.staked.toString(),
      claimed: s.claimed.toString(),
      withdrawn: s.withdrawn.toString(),
      active: s.active.toString(),
      atRisk: s.atRisk.toString(),
      slashed: s.slashed.toString(),
      rewards: { claimed: s.claimed.toString(), claimable: s.claimable.toString() },
    })),
    risk: {
      bond: chain.risk.bond.toString(),
      frozen: chain.risk.frozen,
      totalSlashed: chain.risk.totalSlashed.toString(),
    },
    users: chain.users.map((u) => ({
      address: u.address,
      calls: facts.callsPerUser.get(u.address.toLowerCase()) ?? 0,
      spent: facts.spend
        .reduce((t, epoch) => t + (epoch.get(u.address.toLowerCase()) ?? 0n), 0n)
        .toString(),
      rebate: (prepaid ? rebateOf(u.address) : u.claimed).toString(),
    })),
    prepaid: {
      providerPaidIn: chain.prepaid.providerPaidIn.toString(),
      users: chain.prepaid.users.map((u) => ({
        address: u.address,
        deposited: u.deposited.toString(),
        debited: u.debited.toString(),
        acked: u.acked.toString(),
        rebateCredited: u.rebateCredited.toString(),
        balance: u.balance.toString(),
      })),
    },
    shares: result.shares,
    chainId: result.chainId,
    settlementContract: result.asset.settlementContract,
    assetId: result.asset.assetId,
    token: {
      address: result.asset.tokenAddress,
      symbol: result.asset.symbol,
      decimals: result.asset.decimals,
    },
    checks: result.checks,
    durationMs: result.durationMs,
  }
}

const n = (value: bigint | number) => value.toLocaleString('en-US')
const pct = (bps: number) => `${(bps / 100).toFixed(2)}%`
const short = (address: string) => `${address.slice(0, 8)}…${address.slice(-4)}`

/**
 * The demo's result as the table `pnpm demo` prints.
 *
 * @example
 * console.log(formatReport(result))
 */
export function formatReport(result: DemoResult): string {
  const { chain, facts, shares } = result
  const { funded, claimed } = rolesOf(chain, result.mode)
  const gas = chain.settlements.map((s) => s.gasUsed)
  const gasPerSettle = gas.length ? gas.reduce((a, b) => a + b, 0n) / BigInt(gas.length) : 0n
  const receipts = chain.settlements.reduce((t, s) => t + s.receiptCount, 0)
  const bps = {
    issuer: shares.issuerBps,
    supporters: shares.supportersBps,
    users: shares.usersBps,
    protocol: shares.protocolBps,
  }
  const col = (text: string, width: number) => text.padStart(width)
  const lines = [
    '',
    `RMA demo (${result.mode}): API users → metered provider → settled on chain → every role paid`,
    '',
    `  chain       anvil (chain ${result.chainId}), settlement contract ${result.asset.settlementContract}`,
    `  asset       ${result.asset.assetId}`,
    `  calls       ${facts.calls} (${facts.calls - facts.streamingCalls} JSON, ${facts.streamingCalls} streaming) by ${chain.users.length} users; ${receipts} receipts settled in ${chain.settlements.length} epochs`,
    `  tokens      ${n(facts.inputTokens)} in / ${n(facts.outputTokens)} out (counted by the stand-in model with o200k_base)`,
    `  revenue     ${n(chain.revenue)} base units = ${fmtToken(chain.revenue)} ${result.asset.symbol} (Σ of the ${result.mode === 'prepaid' ? 'PrepaidSettled' : 'Settled'} events)`,
    `  gas         ${n(gasPerSettle)} per settle on average (${chain.settlements.map((s) => `epoch ${s.epoch}: ${n(s.gasUsed)}`).join(', ')}); the first settlement of an asset initialises its counters`,
    '',
    `  ${'role'.padEnd(11)}${col('share', 8)}${col('funded', 10)}${col('claimed', 10)}${col('left', 7)}`,
    ...roleNames.map(
      (role) =>
        `  ${role.padEnd(11)}${col(pct(bps[role]), 8)}${col(n(funded[role]), 10)}${col(n(claimed[role]), 10)}${col(n(funded[role] - claimed[role]), 7)}${role === 'supporters' && funded[role] !== claimed[role] ? '  rounding dust, stays owed to supporters' : ''}${role === 'users' && result.mode === 'prepaid' ? '  credited to their balances at settlement' : ''}`,
    ),
    `  ${'total'.padEnd(11)}${col(pct(10_000), 8)}${col(n(roleNames.reduce((t, r) => t + funded[r], 0n)), 10)}${col(n(roleNames.reduce((t, r) => t + claimed[r], 0n)), 10)}${col(n(roleNames.reduce((t, r) => t + funded[r] - claimed[r], 0n)), 7)}`,
    '',
    ...chain.supporters.map(
      (s, i) =>
        `  supporter ${i + 1} ${short(s.address)}  stake ${fmtToken(s.staked)} ${result.asset.symbol}, rewards claimed ${n(s.claimed)} (claimable ${n(s.claimable)}), at risk ${fmtToken(s.atRisk)} ${result.asset.symbol}, slashed ${n(s.slashed)}, ${s.withdrawn > 0n ? `withdrew ${fmtToken(s.withdrawn)} ${result.asset.symbol} after the 7-day delay` : 'still staked'}`,
    ),
    `  issuer      bond ${fmtToken(chain.risk.bond)} ${result.asset.symbol}, ${chain.risk.frozen ? 'FROZEN by a proven fraud' : 'not frozen'}, slashed ${n(chain.risk.totalSlashed)} in all (no fraud proven: an honest meter is never slashable)`,
    ...chain.users.map((u, i) => {
      const key = u.address.toLowerCase()
      const spent = facts.spend.reduce((t, e) => t + (e.get(key) ?? 0n), 0n)
      const p = chain.prepaid.users[i]!
      return result.mode === 'prepaid'
        ? `  user ${i + 1}      ${short(u.address)}  ${facts.callsPerUser.get(key) ?? 0} calls, deposited ${n(p.deposited)}, acked and debited ${n(p.debited)}, rebate credited ${n(p.rebateCredited)}, balance ${n(p.balance)}${p.withdrawn > 0n ? `, withdrew ${n(p.withdrawn)} after the delay` : ''}`
        : `  user ${i + 1}      ${short(u.address)}  ${facts.callsPerUser.get(key) ?? 0} calls, spent ${n(spent)}, rebate claimed ${n(u.claimed)}`
    }),
    ...(result.mode === 'prepaid'
      ? [
          `  provider    paid in ${n(chain.prepaid.providerPaidIn)}: users paid through the protocol, from their prepaid balances`,
        ]
      : []),
    '',
    '  checks (money read back from the chain: getAsset, events, token balances)',
    ...result.checks.map((c) => `  ${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`),
    '',
    `  ${result.ok ? 'all checks passed' : 'SOME CHECKS FAILED'} in ${(result.durationMs / 1000).toFixed(1)} s`,
    '',
  ]
  return lines.join('\n')
}
