export type {
  Catalog,
  CatalogConstraint,
  CatalogMatch,
  CatalogModel,
  CatalogPrice,
  CatalogPriceEntry,
  CatalogPriceKind,
  CatalogPrices,
  CatalogProvider,
} from './Catalog.js'
export { catalog } from './catalog.generated.js'
export { type CatalogPriceVersion, catalogModelPrices } from './catalogModelPrices.js'
export {
  allCatalogProviders,
  type CatalogOverride,
  type CreateCatalogPriceTableParameters,
  createCatalogPriceTable,
  defaultCatalogProviders,
} from './createCatalogPriceTable.js'
export {
  InvalidCatalogError,
  InvalidDecimalError,
  InvalidDecimalsError,
  UnknownCatalogModelError,
  UnknownProviderError,
} from './errors.js'
export {
  type FindCatalogModelParameters,
  type FindCatalogModelReturnType,
  findCatalogModel,
} from './findCatalogModel.js'
export { matchesCatalogName } from './matchesCatalogName.js'
export type { PricesErrorType } from './PricesErrorType.js'
export { type Decimal, parseDecimal } from './parseDecimal.js'
export { type UsdToBaseUnitsParameters, usdToBaseUnits } from './usdToBaseUnits.js'
