import type { InsufficientBalanceError, MeterError } from './errors.js'

/** Every error `@rma/meter` (and its adapters) throws or answers with. */
export type MeterErrorType = MeterError | InsufficientBalanceError
