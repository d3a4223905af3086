// The framework-free meter. Protocol rules live in @rma/core (shared with @rma/client).
export { type AdmitCallParameters, admitCall } from './admitCall.js'
export {
  type AuthenticateParameters,
  type AuthenticateReturnType,
  authenticate,
  type Identify,
} from './authenticate.js'
export {
  type AuthorizeReceiptReadParameters,
  authorizeReceiptRead,
  isOperator,
  maxReadAttestationTtl,
  receiptListRequestHash,
} from './authorizeReceiptRead.js'
export { bodyErrors } from './bodyErrors.js'
export { type CheckMeterOnChainParameters, checkMeterOnChain } from './checkMeterOnChain.js'
export {
  createPriceTableCommitments,
  type PriceTableCommitments,
} from './checkPriceTableCommitted.js'
export { closeUnreadBody } from './closeUnreadBody.js'
export {
  createLargeBodyBudget,
  type LargeBodyBudget,
  type LargeBodyTicket,
} from './createLargeBodyBudget.js'
export { type CreateMeterAdapterOptions, createMeter } from './createMeter.js'
export { type CreateMeteredCallParameters, createMeteredCall } from './createMeteredCall.js'
export { createMeterHooks } from './createMeterHooks.js'
export { createMeterMetrics, type MeterMetrics } from './createMeterMetrics.js'
export {
  createOpenAIProxy,
  type OpenAIProxy,
  type OpenAIProxyOptions,
  type ProxyRequest,
} from './createOpenAIProxy.js'
export {
  type CreatePrepaidCoverageParameters,
  createPrepaidCoverage,
  type PrepaidConfig,
  type PrepaidCoverage,
  type PrepaidHold,
} from './createPrepaidCoverage.js'
export {
  type BodyDelivery,
  createResponseGate,
  type ResponseGate,
  type StreamStep,
} from './createResponseGate.js'
export {
  createRmaRouteHandler,
  type RebateProofLike,
  type RmaRouteAnswer,
  type RmaRouteOptions,
  type RmaRouteRequest,
} from './createRmaRouteHandler.js'
export { type CreateRmaRoutesOptions, createRmaRoutes } from './createRmaRoutes.js'
export { ensureStoreWritable } from './ensureStoreWritable.js'
export { errorResponse } from './errorResponse.js'
export {
  InsufficientBalanceError,
  MeterError,
  type OpenAIErrorBody,
  type OpenAIErrorType,
  toMeterError,
} from './errors.js'
export type { HeaderSource } from './HeaderSource.js'
export type { BodyRead, BodyReadLimits, IncomingCall } from './IncomingCall.js'
export { invalidPathError } from './invalidPathError.js'
export { type IssueReceiptParameters, issueReceipt } from './issueReceipt.js'
export type { LargeBodyProcessor, ProcessedBody } from './LargeBodyProcessor.js'
export { loadMeterSigner, loadMeterSignerSync, type MeterKeySource } from './loadMeterSigner.js'
export type { AdmittedCall, Meter } from './Meter.js'
export type { MeterErrorType } from './MeterErrorType.js'
export type { MeterEvents } from './MeterEvents.js'
export type { MeteredCall } from './MeteredCall.js'
export type { MeteredHandler } from './MeteredHandler.js'
export { meterFetch } from './meterFetch.js'
export { outputTextOf } from './outputTextOf.js'
export type {
  BodyEnding,
  ResponseHooks,
  StreamEnding,
  StreamEndReason,
} from './ResponseHooks.js'
export type { RmaRequestContext } from './RmaRequestContext.js'
export { readBodyStream } from './readBodyStream.js'
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
  type MeterOptions,
  type PrepaidOptions,
  resolveMeterConfig,
} from './resolveMeterConfig.js'
export {
  defaultProxyRoutes,
  type ProxyRouteRequest,
  type ResolveProxyRouteParameters,
  resolveProxyRoute,
} from './resolveProxyRoute.js'
export {
  createIncludeUsageStripper,
  type IncludeUsageStripper,
} from './sse/createIncludeUsageStripper.js'
export { sseErrorFrame } from './sse/sseErrorFrame.js'
export { storeCall } from './storeCall.js'
export { toWebRequest } from './toWebRequest.js'
export { estimateUsage, loadTokenizer } from './usage/estimateUsage.js'
export {
  type WorstCasePriceParameters,
  type WorstCasePriceReturnType,
  worstCasePrice,
} from './worstCasePrice.js'
