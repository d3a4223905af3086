/**
 * What `rma` exits with. Scripts branch on these; `rma --help` and the README list them.
 *
 * @example
 * if (code === exitCodes.unreachable) retryLater()
 */
export const exitCodes = {
  /** Done; `doctor` found nothing failing; `audit` found nothing different. */
  ok: 0,
  /** `doctor` found a failing check, `audit` a discrepancy, or something failed unexpectedly. */
  failed: 1,
  /** Unknown command or option, a missing or malformed value or variable. */
  usage: 2,
  /** The RPC, the provider or a batch host did not answer, or not within the timeout. */
  unreachable: 3,
  /** The deployment is not what the configuration says: wrong chain id, no contract, unregistered asset. */
  mismatch: 4,
  /** The chain refused the transaction (its decoded reason is printed), or there was nothing to do. */
  refused: 5,
} as const

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes]
