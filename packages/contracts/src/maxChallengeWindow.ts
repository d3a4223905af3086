/**
 * The longest challenge window (seconds) an asset may set: the contract's private
 * `MAX_CHALLENGE_WINDOW`, 7 days (no public getter: a selector sorted before `settle`'s would
 * cost every settle 22 gas of dispatch).
 *
 * @example
 * if (seconds > maxChallengeWindow) throw new Error('at most 7 days')
 */
export const maxChallengeWindow = 7 * 24 * 3600

/**
 * How many postpaid batches of one asset may be pending at once; one more settle reverts
 * `TooManyPending(releasableAt)` until the oldest is due (the contract's `MAX_PENDING_BATCHES`).
 *
 * @example
 * const settlesPerWindow = maxPendingBatches // at most 15 settles per challenge window
 */
export const maxPendingBatches = 15
