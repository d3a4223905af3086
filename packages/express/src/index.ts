// Protocol rules live in @rma/core (shared with @rma/client), the framework-free meter in
// @rma/meter; both re-exported for existing imports. This package is the Express adapter.
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
  type AuthorizeReceiptReadParameters,
  authenticate,
  authorizeReceiptRead,
  type CheckMeterOnChainParameters,
  type CreatePrepaidCoverageParameters,
  checkMeterOnChain,
  createMeterMetrics,
  createPrepaidCoverage,
  defaultProxyRoutes,
  estimateUsage,
  type Identify,
  InsufficientBalanceError,
  loadMeterSigner,
  loadMeterSignerSync,
  loadTokenizer,
  type MeterConfig,
  MeterError,
  type MeterErrorType,
  type MeterEvents,
  type MeterKeySource,
  type MeterLogger,
  type MeterMetrics,
  maxReadAttestationTtl,
  type OpenAIErrorBody,
  type OpenAIErrorType,
  type PrepaidConfig,
  type PrepaidCoverage,
  type PrepaidHold,
  type PrepaidOptions,
  type PrepaidState,
  type ReadPrepaidStateParameters,
  type ReceiptJSON,
  type RequestFields,
  type ResolveProxyRouteParameters,
  readAssetToken,
  readPrepaidState,
  receiptListRequestHash,
  receiptToJSON,
  requestFieldNames,
  requestFields,
  resolveMeterConfig,
  resolveProxyRoute,
  type WorstCasePriceParameters,
  type WorstCasePriceReturnType,
  worstCasePrice,
} from '@rma/meter'
export { clientGone } from './clientGone.js'
export { endStreamWithError } from './endStreamWithError.js'
export { type OpenAIProxyOptions, openaiProxy } from './openaiProxy.js'
export { type RmaMeter, type RmaMeterOptions, rmaMeter } from './rmaMeter.js'
export { type RebateProofLike, type RmaRouterOptions, rmaRouter } from './rmaRouter.js'
export type { RmaRequestContext } from './types.js'
