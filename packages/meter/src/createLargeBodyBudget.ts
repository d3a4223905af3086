/** What an admitted large body is charged with, and released by, once the meter is done with it. */
export type LargeBodyTicket = {
  /** Adds measured server-thread time, in milliseconds, spent on this body. */
  charge(ms: number): void
  /**
   * The call is over (refused, or its response closed): its reservation is returned, and it is
   * charged at least its share of the event loop's active time during its life (divided among
   * the large bodies in flight), which covers the work measured nowhere else (forwarding the
   * body upstream, its copies, the garbage they leave).
   */
  release(): void
}

export type LargeBodyBudget = {
  /**
   * A ticket when one more large body fits the budget now, else the whole seconds after which
   * one should (for `retry-after`).
   */
  admit(): { ticket: LargeBodyTicket } | { retryAfterSeconds: number }
  /** Share of recent wall-clock time spent on large bodies, reservations included. */
  share(): number
}

export type LargeBodyBudgetOptions = {
  /** Largest share of recent time large bodies may take (0 < fraction ≤ 1). */
  fraction: number
  /** How far back "recent" reaches: the decay time constant, in milliseconds (default 1,000). */
  windowMs?: number
  /** Milliseconds on a monotonic clock; injectable for tests. */
  now?: () => number
  /** The event loop's active (not idle) milliseconds so far; injectable for tests. */
  activeMs?: () => number
}

/**
 * An admission budget for expensive request bodies: the server-thread time measured on large
 * bodies (as they are read and parsed, then at least their share of the event loop's active
 * time while they were in flight) is summed with exponential decay (time constant `windowMs`),
 * so `spent / windowMs` is the share of recent time they took. A new large body is admitted only while that share,
 * plus the expected cost of those already admitted and not done yet (their average measured
 * cost each), stays under `fraction`; until one cost has been measured, only one large body
 * is admitted at a time. Small bodies never go through it.
 *
 * @example
 * const budget = createLargeBodyBudget({ fraction: 0.2 })
 * const admitted = budget.admit()
 * if ('ticket' in admitted) { const t0 = performance.now(); work(); admitted.ticket.charge(performance.now() - t0); admitted.ticket.release() }
 */
export function createLargeBodyBudget(options: LargeBodyBudgetOptions): LargeBodyBudget {
  const { fraction } = options
  const windowMs = options.windowMs ?? 1000
  const now = options.now ?? (() => performance.now())
  const activeMs = options.activeMs ?? (() => performance.eventLoopUtilization().active)
  let spent = 0
  let at = now()
  let inFlight = 0
  let averageCost: number | undefined
  const decayed = () => {
    const t = now()
    spent *= Math.exp(-Math.max(0, t - at) / windowMs)
    at = t
    return spent
  }
  const reserved = () => (inFlight === 0 ? 0 : inFlight * (averageCost ?? Number.POSITIVE_INFINITY))
  const share = () => (decayed() + reserved()) / windowMs
  return {
    share,
    admit() {
      if (share() >= fraction) {
        const total = spent + reserved()
        const waitMs = Number.isFinite(total)
          ? windowMs * Math.log(total / (fraction * windowMs))
          : windowMs
        return { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) }
      }
      inFlight++
      const activeFrom = activeMs()
      let cost = 0
      let released = false
      const charge = (ms: number) => {
        if (!(ms > 0)) return
        decayed()
        spent += ms
        cost += ms
      }
      return {
        ticket: {
          charge,
          release() {
            if (released) return
            released = true
            charge((activeMs() - activeFrom) / inFlight - cost)
            inFlight--
            averageCost = averageCost === undefined ? cost : averageCost * 0.8 + cost * 0.2
          },
        },
      }
    },
  }
}
