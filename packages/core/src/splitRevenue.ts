import { InvalidSharesError } from './errors.js'

export const BPS = 10_000

/** The four shares of revenue in basis points; they sum to 10,000. */
export type RevenueShares = {
  issuerBps: number
  supportersBps: number
  usersBps: number
  protocolBps: number
}

export type RevenueSplit = { issuer: bigint; supporters: bigint; users: bigint; protocol: bigint }

/**
 * Splits revenue among the four roles exactly as the settlement contract does:
 * supporters, users and protocol each get `floor(revenue × bps / 10000)`, and the issuer gets
 * the rest (its share plus the rounding dust, under 3 base units). The parts always sum to
 * `revenue`.
 *
 * @example
 * splitRevenue(1001n, { issuerBps: 5000, supportersBps: 3000, usersBps: 1500, protocolBps: 500 })
 * // { issuer: 501n, supporters: 300n, users: 150n, protocol: 50n }
 */
export function splitRevenue(revenue: bigint, shares: RevenueShares): RevenueSplit {
  assertShares(shares)
  if (typeof revenue !== 'bigint' || revenue < 0n)
    throw new InvalidSharesError({
      shortMessage: `Revenue must be a non-negative bigint, got ${String(revenue)}.`,
    })
  const part = (bps: number) => (revenue * BigInt(bps)) / BigInt(BPS)
  const supporters = part(shares.supportersBps)
  const users = part(shares.usersBps)
  const protocol = part(shares.protocolBps)
  return { issuer: revenue - supporters - users - protocol, supporters, users, protocol }
}

/**
 * Throws {@link InvalidSharesError} unless every share is an integer in [0, 10000] and the
 * four sum to 10,000.
 *
 * @example
 * assertShares({ issuerBps: 5000, supportersBps: 3000, usersBps: 1500, protocolBps: 500 })
 */
export function assertShares(shares: RevenueShares): void {
  const values = [shares.issuerBps, shares.supportersBps, shares.usersBps, shares.protocolBps]
  if (values.some((v) => !Number.isInteger(v) || v < 0 || v > BPS))
    throw new InvalidSharesError({
      shortMessage: 'Each share must be an integer between 0 and 10000 bps.',
    })
  const sum = values.reduce((a, b) => a + b, 0)
  if (sum !== BPS)
    throw new InvalidSharesError({ shortMessage: `Shares sum to ${sum} bps, not ${BPS}.` })
}
