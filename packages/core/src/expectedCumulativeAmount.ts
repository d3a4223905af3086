import { CumulativeAmountMismatchError } from './errors.js'
import type { UsageReceipt } from './types.js'

/**
 * The one rule for a receipt's `cumulativeAmount`: the cumulative amount of the receipt before it
 * in its (asset, meter, user) chain (0 before seq 1) plus its own `amount`. The meter signs it,
 * the stores enforce it on append, the client checks it before acking, verifiers check it.
 *
 * @example
 * const cumulativeAmount = expectedCumulativeAmount(head.cumulativeAmount, amount)
 */
export function expectedCumulativeAmount(previous: bigint, amount: bigint): bigint {
  return previous + amount
}

/**
 * Throws {@link CumulativeAmountMismatchError} unless `receipt.cumulativeAmount` is
 * {@link expectedCumulativeAmount} of the previous receipt's cumulative amount (0 before seq 1).
 *
 * @example
 * assertCumulativeAmount(receipt, previous.cumulativeAmount)
 */
export function assertCumulativeAmount(
  receipt: Pick<UsageReceipt, 'seq' | 'amount' | 'cumulativeAmount'>,
  previous: bigint,
): void {
  const expected = expectedCumulativeAmount(previous, receipt.amount)
  if (receipt.cumulativeAmount !== expected)
    throw new CumulativeAmountMismatchError({
      seq: receipt.seq,
      expected,
      actual: receipt.cumulativeAmount,
    })
}
