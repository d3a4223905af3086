export { type AuthenticateParameters, authenticate, type Identify } from './authenticate.js'
export { createMeterMetrics, type MeterMetrics } from './createMeterMetrics.js'
export { createNonceCache, type NonceCache } from './createNonceCache.js'
export { MeterError, type OpenAIErrorBody, type OpenAIErrorType } from './errors.js'
export { loadMeterSigner, type MeterKeySource } from './loadMeterSigner.js'
export { type OpenAIProxyOptions, openaiProxy } from './openaiProxy.js'
export { type ReceiptJSON, receiptToJSON } from './receiptToJSON.js'
export {
  type MeterConfig,
  type MeterLogger,
  type RmaMeterOptions,
  resolveMeterConfig,
} from './resolveMeterConfig.js'
export { type MeterEvents, type RmaMeter, rmaMeter } from './rmaMeter.js'
export { type RebateProofLike, type RmaRouterOptions, rmaRouter } from './rmaRouter.js'
export { createSseParser, type SseEvent } from './sse/createSseParser.js'
export type { RmaRequestContext } from './types.js'
export { type Endpoint, endpointOf } from './usage/endpointOf.js'
export { estimateUsage, loadTokenizer } from './usage/estimateUsage.js'
