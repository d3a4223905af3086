import type { MeteredCall } from '@rma/meter'

/**
 * The Hono environment of a metered app: `c.get('rma')` is the call the meter admitted
 * (`undefined` on a route the meter does not meter).
 *
 * @example
 * const app = new Hono<RmaEnv>()
 */
export type RmaEnv = { Variables: { rma: MeteredCall | undefined } }

declare module 'hono' {
  interface ContextVariableMap {
    /** The call {@link rmaMeter} admitted; `undefined` on a route the meter does not meter. */
    rma: MeteredCall | undefined
  }
}
