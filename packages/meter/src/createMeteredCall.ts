import type { Usage } from '@rma/core'
import type { RmaRequestContext } from './RmaRequestContext.js'

/** What the meter knows of a call when it admits it. */
export type CreateMeteredCallParameters = Omit<
  RmaRequestContext,
  'body' | 'report' | 'drain' | 'upstreamUsage' | 'draining'
> & {
  /** The parsed body, on first read (a large body is parsed only if something asks). */
  body: () => Record<string, unknown>
}

/**
 * The record of an admitted call, with its channel back from the handler: `report` and `drain`
 * set what the meter settles with (`upstreamUsage`, `draining`; assigning those directly, as
 * handlers did before, still works).
 *
 * @example
 * const call = createMeteredCall({ id, endpoint, user, ..., body: () => parsed })
 * call.report({ usage, model }) // call.upstreamUsage is now set
 */
export function createMeteredCall(parameters: CreateMeteredCallParameters): RmaRequestContext {
  const { body, ...rest } = parameters
  let reported: { usage: Usage; model: string | undefined } | undefined
  let draining = false
  const call = {
    ...rest,
    report(value: { usage: Usage; model: string | undefined }) {
      reported ??= value
    },
    drain() {
      draining = true
    },
  } as RmaRequestContext
  Object.defineProperties(call, {
    body: { enumerable: true, get: body },
    upstreamUsage: {
      enumerable: true,
      get: () => reported,
      set: (value: typeof reported) => {
        reported = value
      },
    },
    draining: {
      enumerable: true,
      get: () => draining,
      set: (value: boolean) => {
        draining = value
      },
    },
  })
  return call
}
