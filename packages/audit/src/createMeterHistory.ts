import type { AssetEvent } from './openSettlement.js'

/** When each meter key was authorised for an asset, from its `MeterSet` events. */
export type MeterHistory = {
  /**
   * Whether `meter` was authorised at unix second `timestamp`, give or take `toleranceSeconds`
   * (a meter's clock and block times disagree by seconds; a chain's clock can lag).
   */
  authorisedAt(meter: string, timestamp: number, toleranceSeconds: number): boolean
  /** Whether `meter` was authorised at a point of the chain (exact: what a `settle` log saw). */
  authorisedAtLog(meter: string, at: { blockNumber: number; logIndex: number }): boolean
}

type Change = { allowed: boolean; block: number; logIndex: number; timestamp: number }

/**
 * Builds each meter's authorisation history from the asset's `MeterSet` events, with the
 * block time of each change.
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
    authorisedAt(meter, timestamp, toleranceSeconds) {
      // The intervals during which the meter was authorised, each widened by the tolerance.
      let from: number | undefined
      for (const change of changes.get(meter.toLowerCase()) ?? []) {
        if (change.allowed && from === undefined) from = change.timestamp
        else if (!change.allowed && from !== undefined) {
          if (
            timestamp >= from - toleranceSeconds &&
            timestamp <= change.timestamp + toleranceSeconds
          )
            return true
          from = undefined
        }
      }
      return from !== undefined && timestamp >= from - toleranceSeconds
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
