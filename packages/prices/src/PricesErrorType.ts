import type {
  InvalidCatalogError,
  InvalidDecimalError,
  InvalidDecimalsError,
  UnknownCatalogModelError,
  UnknownProviderError,
} from './errors.js'

/**
 * Every error `@rma/prices` throws on its own account (besides core's), to narrow on `code`.
 *
 * @example
 * function isCallersFault(error: PricesErrorType): boolean {
 *   return error.code !== 'INVALID_CATALOG'
 * }
 */
export type PricesErrorType =
  | InvalidCatalogError
  | InvalidDecimalError
  | InvalidDecimalsError
  | UnknownCatalogModelError
  | UnknownProviderError
