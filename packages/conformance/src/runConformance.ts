import { afterAll, beforeAll, describe, test } from 'vitest'
import type { ConformanceAdapter } from './ConformanceAdapter.js'
import { cases } from './cases.js'
import { type ConformanceContext, startConformance } from './startConformance.js'

/**
 * Registers the whole conformance suite for one adapter under `conformance: <name>`.
 *
 * @example
 * runConformance(express5)
 */
export function runConformance(adapter: ConformanceAdapter): void {
  describe(`conformance: ${adapter.name}`, () => {
    let context: ConformanceContext
    beforeAll(async () => {
      context = await startConformance(adapter)
    })
    afterAll(() => context?.close())
    for (const one of cases) test(one.name, () => one.run(context))
  })
}
