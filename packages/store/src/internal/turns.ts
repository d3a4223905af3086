/**
 * Paces a store's group commits by event-loop turn. Receipts signed during a turn are committed
 * together when it ends; at most `signsPerTurn` sign callbacks start per turn, the others start
 * on the next turns. A burst of appends is then signed and committed in groups: the database
 * commits the first groups while later ones are signed (only the last group's commit is waited
 * for), and the event loop serves other I/O between groups instead of signing for tens of ms.
 */
export type Turns = {
  /** Undefined if a sign callback may start now; else a promise that resolves when it may. */
  signSlot(): Promise<void> | undefined
  /** Makes sure the turn end runs (call it after queueing something to commit). */
  scheduleEnd(): void
}

/** @param onEnd Called at each turn end, before the next sign callbacks are let through. */
export function createTurns(signsPerTurn: number, onEnd: () => void): Turns {
  let signed = 0
  let scheduled = false
  // A FIFO of resolvers; `next` indexes the first one still waiting.
  let waiting: (() => void)[] = []
  let next = 0

  function scheduleEnd(): void {
    if (scheduled) return
    scheduled = true
    setImmediate(end)
  }

  function end(): void {
    scheduled = false
    onEnd()
    signed = 0
    // Released here, they sign right after this callback, in the next turn's count.
    while (signed < signsPerTurn && next < waiting.length) {
      signed++
      waiting[next++]!()
    }
    if (next === waiting.length) {
      waiting = []
      next = 0
    }
    if (signed > 0) scheduleEnd()
  }

  return {
    signSlot() {
      scheduleEnd()
      if (signed < signsPerTurn) {
        signed++
        return undefined
      }
      return new Promise((resolve) => waiting.push(resolve))
    },
    scheduleEnd,
  }
}

/** Sign callbacks started per event-loop turn, in both SQL stores. */
export const signsPerTurn = 16
