import type { RmaRequestContext } from '@rma/meter'

// The meter's call on Express's request: `req.rma` is the MeteredCall of @rma/meter.
export type { RmaRequestContext }

declare global {
  namespace Express {
    interface Request {
      /** Set by `rmaMeter()` on metered routes: the call as the meter admitted it. */
      rma?: RmaRequestContext
    }
  }
}
