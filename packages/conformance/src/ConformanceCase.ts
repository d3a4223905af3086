import type { ConformanceContext } from './startConformance.js'

/** One metering case, run against every adapter's started servers. */
export type ConformanceCase = {
  name: string
  run(context: ConformanceContext): Promise<void>
}
