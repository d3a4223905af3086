// Protocol rules live in @rma/core (shared with @rma/client); re-exported for existing imports.
export {
  canonicalPath,
  createSseParser,
  type Endpoint,
  endpointOf,
  type SseEvent,
} from '@rma/core'
export {
  type AuthenticateParameters,
  type AuthenticateReturnType,
  authenticate,
  type Identify,
} from './authenticate.js'
export {
  type AuthorizeReceiptReadParameters,
  authorizeReceiptRead,
  maxReadAttestationTtl,
  receiptListRequestHash,
} from './authorizeReceiptRead.js'
export { type CheckMeterOnChainParameters, checkMeterOnChain } from './checkMeterOnChain.js'
export { clientGone } from './clientGone.js'
export { createMeterMetrics, type MeterMetrics } from './createMeterMetrics.js'
export {
  type CreatePrepaidCoverageParameters,
  createPrepaidCoverage,
  type PrepaidConfig,
  type PrepaidCoverage,
  type PrepaidHold,
} from './createPrepaidCoverage.js'
export { endStreamWithError } from './endStreamWithError.js'
export {
  InsufficientBalanceError,
  MeterError,
  type OpenAIErrorBody,
  type OpenAIErrorType,
} from './errors.js'
export { loadMeterSigner, loadMeterSignerSync, type MeterKeySource } from './loadMeterSigner.js'
export { type OpenAIProxyOptions, openaiProxy } from './openaiProxy.js'
export {
  type PrepaidState,
  type ReadPrepaidStateParameters,
  readAssetToken,
  readPrepaidState,
} from './readPrepaidState.js'
export { type ReceiptJSON, receiptToJSON } from './receiptToJSON.js'
export { type RequestFields, requestFieldNames, requestFields } from './requestFields.js'
export {
  type MeterConfig,
  type MeterLogger,
  type PrepaidOptions,
  type RmaMeterOptions,
  resolveMeterConfig,
} from './resolveMeterConfig.js'
export {
  defaultProxyRoutes,
  type ResolveProxyRouteParameters,
  resolveProxyRoute,
} from './resolveProxyRoute.js'
export { type MeterEvents, type RmaMeter, rmaMeter } from './rmaMeter.js'
export { type RebateProofLike, type RmaRouterOptions, rmaRouter } from './rmaRouter.js'
export type { RmaRequestContext } from './types.js'
export { estimateUsage, loadTokenizer } from './usage/estimateUsage.js'
export {
  type WorstCasePriceParameters,
  type WorstCasePriceReturnType,
  worstCasePrice,
} from './worstCasePrice.js'
