import type { AssetEvent } from './openSettlement.js'

/** When each meter key was authorised for an asset, from its `MeterSet` events. */
export type MeterHistory = {
  /** Whether `meter` was authorised at unix second `timestamp` (an event in that second counts either way). */
  authorisedAt(meter: string, timestamp: number): boolean
  /** Whether `meter` was authorised at a point of the chain (exact: what a `settle` log saw). */
  authorisedAtLog(meter: string, at: { blockNumber: number; logIndex: number }): boolean
}

type Change = { allowed: boolean; block: number; logIndex: number; timestamp: number }

/**
 * Builds a meter's authorisation history. A receipt signed in the same second as a change is
 * given the benefit of the doubt (block timestamps have one-second resolution).
 *
 * @example
 * const meters = await createMeterHistory(events, reader.blockTimestamp)
 * meters.authorisedAt(receipt.meter, receipt.timestamp)
 */
export async function createMeterHistory(
  events: readonly AssetEvent[],
  blockTimestamp: (block: number) => Promise<number>,
): Promise<MeterHistory> {
  const changes = new Map<string, Change[]>()
  for (const event of events) {
    if (event.name !== 'MeterSet') continue
    const meter = String(event.args.meter).toLowerCase()
    const list = changes.get(meter) ?? []
    list.push({
      allowed: Boolean(event.args.allowed),
      block: event.blockNumber,
      logIndex: event.logIndex,
      timestamp: await blockTimestamp(event.blockNumber),
    })
    changes.set(meter, list)
  }
  return {
    authorisedAt(meter, timestamp) {
      const list = changes.get(meter.toLowerCase()) ?? []
      let before = false
      let during = false
      for (const change of list) {
        if (change.timestamp < timestamp) before = change.allowed
        else if (change.timestamp === timestamp) during ||= change.allowed
      }
      return before || during
    },
    authorisedAtLog(meter, at) {
      let allowed = false
      for (const change of changes.get(meter.toLowerCase()) ?? [])
        if (
          change.block < at.blockNumber ||
          (change.block === at.blockNumber && change.logIndex < at.logIndex)
        )
          allowed = change.allowed
      return allowed
    },
  }
}
