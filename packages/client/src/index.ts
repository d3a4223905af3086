export { authenticateReceipt } from './authenticateReceipt.js'
export type { ClientErrorType } from './ClientErrorType.js'
export { type CallFacts, checkReceiptContent } from './checkReceiptContent.js'
export { createFileLedgerStore } from './createFileLedgerStore.js'
export type { LedgerEvidence, LedgerExport, ReceiptLedger } from './createLedger.js'
export {
  createMemoryLedgerStore,
  type LedgerEntry,
  type LedgerStore,
} from './createMemoryLedgerStore.js'
export {
  type CreatePrepaidAccountParameters,
  createPrepaidAccount,
  type PrepaidAccount,
} from './createPrepaidAccount.js'
export type { ProveOptions, ProveTarget, RmaClient } from './createRmaEngine.js'
export { createRmaFetch, type RmaFetch } from './createRmaFetch.js'
export {
  createSseReceiptFilter,
  type InlineReceipt,
  type SseFilterResult,
  type SseReceiptFilter,
} from './createSseReceiptFilter.js'
export {
  AttestationMismatchError,
  ChainMismatchError,
  type ChainMismatchKind,
  FraudProofRejectedError,
  InvalidClientOptionsError,
  NothingToProveError,
  PriceMismatchError,
  PriceTableMismatchError,
  PriceTableNotCommittedError,
  ReceiptBindingError,
  ReceiptCheckFailedError,
  ReceiptError,
  type ReceiptErrorCode,
  type ReceiptErrorContext,
  ReceiptMalformedError,
  ReceiptMissingError,
  ReceiptSignatureError,
  RequestHashMismatchError,
  ResponseHashMismatchError,
  SpendCapExceededError,
  UnknownCallError,
  UntrustedMeterError,
  UsageMismatchError,
} from './errors.js'
export { fraudPriceTables } from './fraudPriceTables.js'
export { getReceipt } from './getReceipt.js'
export { getRMA } from './getRMA.js'
export { isMeteredCall } from './isMeteredCall.js'
export { parseLedgerEvidence } from './parseLedgerEvidence.js'
export {
  type ProveFraudParameters,
  type ProveFraudReturnType,
  proveFraud,
} from './proveFraud.js'
export type {
  PrepaidClientOptions,
  RmaClientOptions,
  TrustedMeters,
} from './resolveClientConfig.js'
export { type AxiosLike, rmaAxios } from './rmaAxios.js'
export { selectFraud } from './selectFraud.js'
export type {
  InsufficientBalanceEvent,
  LedgerTotals,
  Observation,
  PrepaidBalance,
  ReceiptChecks,
  ReceiptRecord,
  RejectedRecord,
  RmaClientEvents,
  Totals,
  UsageCheck,
} from './types.js'
export { type OpenAILike, type WithRMAOptions, withRMA } from './withRMA.js'
