/**
 * The rebate `settlePrepaid` credits back for one applied voucher: `floor(debit * usersBps /
 * 10000)` (the contract's documented rule; `usersBps` is fixed when the asset is registered).
 * The audit's one copy of it.
 *
 * @example
 * voucherRebate(3_122n, 1_500n) // 468n
 */
export function voucherRebate(debit: bigint, usersBps: bigint): bigint {
  return (debit * usersBps) / 10_000n
}
